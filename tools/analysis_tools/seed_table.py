"""Train and test configs over several seeds; print mean ± std as markdown.

Each (config, seed) run lives in ``<work-root>/<config name>/seed<S>``
(trained by ``tools/train.py --cfg-options randomness.seed=S``, its last
checkpoint tested by ``tools/test.py`` into ``.../seed<S>/test``). With
``--run`` the runs that have no test result yet are trained (resumed when a
checkpoint is there) and tested first; without it the table is made from the
runs found. A row with fewer finished seeds than asked for is marked pending.

Examples:
    # the BCCD rows, two trainings at a time, one thread each
    python tools/analysis_tools/seed_table.py --run --jobs 2 --threads 1 \\
        configs/alrp_loss/retinanet_r18_fpn_bccd.py \\
        configs/ap_loss/ap-loss_retinanet_r18_fpn_bccd.py \\
        configs/alrp_loss/alrp-loss_retinanet_r18_fpn_bccd.py
    # the table only, from what is in work_dirs/seeds
    python tools/analysis_tools/seed_table.py configs/...py configs/...py
"""
import argparse
import os
import os.path as osp
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

from mmrank.utils.run_logs import (last_epoch_mean, mean_iter_time, mean_std,
                                   read_scalars, read_test_metrics)

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

# column label -> test metric key (detection: COCO AP and oLRP components)
DEFAULT_METRICS = (
    ('AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
    ('AP75', 'coco/bbox_mAP_75'), ('oLRP', 'lrp/bbox_oLRP'),
    ('oLRP_loc', 'lrp/bbox_oLRP_loc'), ('oLRP_FP', 'lrp/bbox_oLRP_FP'),
    ('oLRP_FN', 'lrp/bbox_oLRP_FN'))
# logged during training by RankingAnalysisHook, as <head>.rank_corr
RANK_CORR_SUFFIX = '.rank_corr'


def run_dir(work_root: str, config: str, seed: int) -> str:
    """Where the run of ``config`` with ``seed`` lives."""
    name = osp.splitext(osp.basename(config))[0]
    return osp.join(work_root, name, f'seed{seed}')


def train_and_test(config: str, seed: int, work_root: str,
                   prefix: Sequence[str], threads: int,
                   extra_options: Sequence[str]) -> str:
    """Train (or resume) and test one run unless its test result exists.

    Returns:
        A one-line status for the log.
    """
    work_dir = run_dir(work_root, config, seed)
    test_dir = osp.join(work_dir, 'test')
    if read_test_metrics(test_dir) is not None:
        return f'{work_dir}: done before'
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    options = [f'randomness.seed={seed}', *extra_options]
    # The tools run in REPO (a clone, or an installed mmrank/.mim): a
    # config found from here is passed by its absolute path.
    config = osp.abspath(config) if osp.exists(config) else config
    train = [
        *prefix, sys.executable,
        osp.join(REPO, 'tools', 'train.py'), config, '--work-dir',
        work_dir, '--cfg-options', *options
    ]
    if osp.exists(osp.join(work_dir, 'last_checkpoint')):
        train.insert(train.index('--cfg-options'), '--resume')
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'seed_table.log'), 'a') as log:
        for cmd in (train, None):
            if cmd is None:
                with open(osp.join(work_dir, 'last_checkpoint')) as f:
                    ckpt = f.read().strip()
                cmd = [
                    *prefix, sys.executable,
                    osp.join(REPO, 'tools', 'test.py'), config, ckpt,
                    '--work-dir', test_dir, '--out',
                    osp.join(test_dir, 'results.pkl'), '--cfg-options',
                    *options
                ]
            log.write(f'$ OMP_NUM_THREADS={threads} {shlex.join(cmd)}\n')
            log.flush()
            proc = subprocess.run(
                cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                return (f'{work_dir}: FAILED (exit {proc.returncode}), see '
                        f'{log.name}')
    return f'{work_dir}: trained and tested'


def run_summary(work_dir: str) -> Optional[Dict[str, float]]:
    """Test metrics of a finished run, its rank correlation and its speed.

    The rank correlation (``rho``) is the mean of the ``<head>.rank_corr``
    values logged in the last training epoch, when the run logged one;
    ``s_iter`` is the mean logged wall time per training iteration.
    """
    metrics = read_test_metrics(osp.join(work_dir, 'test'))
    if metrics is None:
        return None
    try:
        scalars = read_scalars(work_dir)
    except FileNotFoundError:
        return metrics
    s_iter = mean_iter_time(work_dir)
    if s_iter is not None:
        metrics['s_iter'] = s_iter
    keys = sorted(k for k in scalars.train if k.endswith(RANK_CORR_SUFFIX))
    if keys:
        # a two-stage detector logs one per head: the last one (RoI head)
        # ranks the final detections
        metrics['rho'] = last_epoch_mean(scalars, keys[-1])
    return metrics


def collect(configs: Sequence[str], seeds: Sequence[int],
            work_root: str) -> List[Tuple[str, List[Dict[str, float]]]]:
    """(config, summaries of its finished seeds) for each config."""
    rows = []
    for config in configs:
        found = [run_summary(run_dir(work_root, config, s)) for s in seeds]
        rows.append((config, [m for m in found if m is not None]))
    return rows


def cell(values: Sequence[float]) -> str:
    if not values:
        return '-'
    mean, std = mean_std(values)
    return f'{mean:.3f} ± {std:.3f}' if len(values) > 1 else f'{mean:.3f}'


def markdown_table(rows, metrics: Sequence[Tuple[str, str]],
                   num_seeds: int) -> str:
    """The mean ± std table (sample std over the finished seeds)."""
    columns = [label for label, _ in metrics] + [
        'ρ (rank corr.)', 's/iter', 'seeds'
    ]
    lines = ['| config | ' + ' | '.join(columns) + ' |',
             '| --- ' * (len(columns) + 1) + '|']
    for config, runs in rows:
        cells = [cell([r[key] for r in runs if key in r])
                 for _, key in metrics + (('rho', 'rho'), ('s/iter',
                                                           's_iter'))]
        done = f'{len(runs)}/{num_seeds}'
        if len(runs) < num_seeds:
            done += ' **pending**'
        lines.append(f'| `{config}` | ' + ' | '.join(cells) + f' | {done} |')
    return '\n'.join(lines)


def spread_report(rows, metrics: Sequence[Tuple[str, str]]) -> str:
    """Which rows differ from the first row by more than the seed spread.

    A difference "exceeds the spread" when the two mean ± std intervals do
    not overlap, i.e. |mean_a - mean_b| > std_a + std_b; with 3 seeds this
    is a rough screen, not a significance test.
    """
    base_config, base = rows[0]
    lines = [f'Differences from `{base_config}` '
             '(* = beyond the seed spread: |Δ| > std_a + std_b):']
    for config, runs in rows[1:]:
        parts = []
        for label, key in tuple(metrics) + (('ρ', 'rho'), ):
            a = [r[key] for r in base if key in r]
            b = [r[key] for r in runs if key in r]
            if len(a) < 2 or len(b) < 2:
                continue
            (mean_a, std_a), (mean_b, std_b) = mean_std(a), mean_std(b)
            delta = mean_b - mean_a
            mark = '*' if abs(delta) > std_a + std_b else ''
            parts.append(f'{label} {delta:+.3f}{mark}')
        lines.append(f'- `{config}`: ' + (', '.join(parts) or
                                           'needs 2+ seeds in both rows'))
    return '\n'.join(lines)


def parse_metrics(items: Optional[Sequence[str]]):
    if not items:
        return DEFAULT_METRICS
    pairs = []
    for item in items:
        label, sep, key = item.partition('=')
        if not sep or not label or not key:
            raise SystemExit(f'--metrics takes LABEL=KEY, got {item!r} '
                             '(e.g. top1=accuracy/top1)')
        pairs.append((label, key))
    return tuple(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('configs', nargs='+', help='config files, one row '
                        'each; the first is the baseline of the differences')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-root', default='work_dirs/seeds')
    parser.add_argument('--run', action='store_true',
                        help='train and test the runs that have no result')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time with --run')
    parser.add_argument('--prefix', default='',
                        help="command put before each training and test, "
                        "e.g. 'nice -n 19'")
    parser.add_argument('--threads', type=int, default=1,
                        help='OMP_NUM_THREADS of every run (a different '
                        'count gives different numbers)')
    parser.add_argument('--metrics', nargs='+', metavar='LABEL=KEY',
                        help='test metric columns (default: COCO AP, AP50, '
                        'AP75, oLRP and its components)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra KEY=VALUE overrides for every run')
    args = parser.parse_args()
    configs = [osp.relpath(osp.abspath(c), REPO) for c in args.configs]
    for config in configs:
        if not osp.isfile(osp.join(REPO, config)):
            raise SystemExit(f'config not found: {config}')
    work_root = osp.abspath(args.work_root)
    if args.run:
        jobs = [(c, s) for s in args.seeds for c in configs]
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for status in pool.map(
                    lambda job: train_and_test(
                        job[0], job[1], work_root, shlex.split(args.prefix),
                        args.threads, args.cfg_options), jobs):
                print(status, flush=True)
    metrics = parse_metrics(args.metrics)
    rows = collect(configs, args.seeds, work_root)
    print(markdown_table(rows, metrics, len(args.seeds)))
    print()
    print(spread_report(rows, metrics))


if __name__ == '__main__':
    main()
