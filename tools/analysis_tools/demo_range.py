"""The demo's expected figures: record them from seed runs, check a result.

``make`` reads finished runs laid out as ``seed_table.py`` writes them
(``<run>/test`` holds the test result, ``<run>/seed_table.log`` the thread
count it ran with) and writes a range file: every run's seed, threads and
metrics. ``check`` compares a ``tools/test.py`` result with the smallest and
largest value of each metric over the recorded runs and says, per metric,
whether it falls inside; ``readme`` prints the sentence the README quotes.

A run outside the range is not necessarily wrong (another CPU, software
stack or thread count rounds differently, and the differences grow over
training), so ``check`` exits 0 either way; it exits 1 only when there is no
result to check.

Examples:
    # the range, from seeds 0-2 at one thread and at two threads
    python tools/analysis_tools/demo_range.py make \\
        work_dirs/seeds/alrp-loss_retinanet_r18_fpn_digits/seed* \\
        work_dirs/seeds-t2/alrp-loss_retinanet_r18_fpn_digits/seed* \\
        --out configs/alrp_loss/demo_range.json
    # a demo run against it
    python tools/analysis_tools/demo_range.py check \\
        work_dirs/alrp-loss_retinanet_r18_fpn_digits/test
"""
import argparse
import json
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from mmrank.utils.run_logs import read_test_metrics

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DEFAULT_RANGE = osp.join(REPO, 'configs', 'alrp_loss', 'demo_range.json')

#: (label, test metric key, higher is better) of the figures the demo prints.
METRICS: Tuple[Tuple[str, str, bool], ...] = (
    ('AP', 'coco/bbox_mAP', True),
    ('AP50', 'coco/bbox_mAP_50', True),
    ('oLRP', 'lrp/bbox_oLRP', False),
)

_THREADS = re.compile(r'OMP_NUM_THREADS=(\d+)')
_SEED = re.compile(r'randomness\.seed=(\d+)')


def run_record(run_dir: str) -> dict:
    """Config name, seed, threads and metrics of one finished run.

    Raises:
        FileNotFoundError: when the run has no test result or no log.
    """
    metrics = read_test_metrics(osp.join(run_dir, 'test'))
    if metrics is None:
        raise FileNotFoundError(f'{run_dir}/test holds no tools/test.py '
                                'result; finish the run first')
    with open(osp.join(run_dir, 'seed_table.log')) as f:
        log = f.read()
    threads, seed = _THREADS.search(log), _SEED.search(log)
    if threads is None or seed is None:
        raise ValueError(f'{run_dir}/seed_table.log names no thread count '
                         'or seed; was the run made by seed_table.py?')
    record = dict(
        config=osp.basename(osp.dirname(osp.abspath(run_dir))),
        seed=int(seed.group(1)),
        threads=int(threads.group(1)))
    record.update({key: metrics[key] for _, key, _ in METRICS})
    return record


def metric_range(runs: Sequence[Dict[str, float]],
                 key: str) -> Tuple[float, float]:
    """Smallest and largest value of ``key`` over the recorded runs."""
    values = [run[key] for run in runs]
    return min(values), max(values)


def describe_runs(runs: Sequence[Dict[str, float]]) -> str:
    """E.g. ``6 runs: seeds 0, 1, 2 × 1 and 2 threads``."""
    seeds = ', '.join(str(s) for s in sorted({r['seed'] for r in runs}))
    threads = ' and '.join(
        str(t) for t in sorted({r['threads'] for r in runs}))
    return f'{len(runs)} runs: seeds {seeds} × {threads} threads'


def readme_sentence(spec: dict) -> str:
    """The README's statement of the range."""
    runs = spec['runs']
    parts = []
    for label, key, higher in METRICS:
        low, high = metric_range(runs, key)
        arrow = '↑' if higher else '↓'
        parts.append(f'{label} {arrow} {low:.3f}-{high:.3f}')
    return (', '.join(parts) + f' ({describe_runs(runs)}, '
            f'{spec["measured_on"]})')


def check(metrics: Dict[str, float], spec: dict) -> List[str]:
    """One line per metric: its value and whether it is inside the range."""
    lines = []
    for label, key, _ in METRICS:
        low, high = metric_range(spec['runs'], key)
        if key not in metrics:
            lines.append(f'{label}: not in the result (no {key})')
            continue
        value = metrics[key]
        verdict = 'inside' if low <= value <= high else 'OUTSIDE'
        lines.append(f'{label} {value:.3f}: {verdict} the measured range '
                     f'{low:.3f}-{high:.3f}')
    return lines


def load_range(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    sub = parser.add_subparsers(dest='command', required=True)
    make = sub.add_parser('make', help='write the range file from runs')
    make.add_argument('runs', nargs='+', help='seed_table run folders')
    make.add_argument('--out', default=DEFAULT_RANGE)
    make.add_argument('--measured-on', required=True,
                      help="where and when, e.g. '2 CPU cores, torch 2.13.0, "
                      "2026-12-03'")
    chk = sub.add_parser('check', help='compare a test result with the range')
    chk.add_argument('test_dir', help='the --work-dir given to tools/test.py')
    chk.add_argument('--range', default=DEFAULT_RANGE)
    chk.add_argument('--config', help='the config the result was trained '
                     'with; a config other than the range\'s is not checked')
    readme = sub.add_parser('readme', help="print the README's sentence")
    readme.add_argument('--range', default=DEFAULT_RANGE)
    args = parser.parse_args(argv)

    if args.command == 'make':
        runs = sorted((run_record(r) for r in args.runs),
                      key=lambda r: (r['threads'], r['seed']))
        configs = {run.pop('config') for run in runs}
        if len(configs) != 1:
            raise SystemExit(f'the runs come from several configs: {configs}')
        spec = dict(config=configs.pop(), measured_on=args.measured_on,
                    runs=runs)
        with open(args.out, 'w') as f:
            json.dump(spec, f, indent=1)
            f.write('\n')
        print(readme_sentence(spec))
        return 0
    spec = load_range(args.range)
    if args.command == 'readme':
        print(readme_sentence(spec))
        return 0
    if args.config and osp.splitext(osp.basename(
            args.config))[0] != spec['config']:
        print(f'No expected range for {args.config}: the range is of '
              f'{spec["config"]}.')
        return 0
    metrics = read_test_metrics(args.test_dir)
    if metrics is None:
        print(f'no tools/test.py result in {args.test_dir}', file=sys.stderr)
        return 1
    print(f'Against the demo runs measured here ({describe_runs(spec["runs"])}'
          f', {spec["measured_on"]}):')
    for line in check(metrics, spec):
        print('   ' + line)
    print('   A result outside is not necessarily wrong: another CPU, '
          'software stack or thread count rounds differently and the '
          'differences grow over training (README, Reproducibility).')
    return 0


if __name__ == '__main__':
    sys.exit(main())
