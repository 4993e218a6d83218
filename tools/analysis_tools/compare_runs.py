"""Compare groups of runs (e.g. one loss over several seeds) in one PNG.

Each group is ``LABEL=DIR[,DIR...]`` (a DIR may be a glob, quoted or not):
the work dirs of its runs, e.g. the seeds of ``seed_table.py``. Panels: the
training loss, and each validation metric per epoch, as the mean over the
group's runs with a ± std band; then the final metrics side by side as bars
(mean, ± std whiskers), taken from each run's ``test/`` result when
``tools/test.py`` wrote one there, else from its last validation.

Example:
    python tools/analysis_tools/compare_runs.py \\
        focal=work_dirs/seeds/retinanet_r18_fpn_bccd/seed* \\
        aLRP=work_dirs/seeds/alrp-loss_retinanet_r18_fpn_bccd/seed* \\
        --out work_dirs/bccd_compare.png
"""
import argparse
import glob
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib
import numpy as np

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from mmrank.utils.run_logs import (Curve, Scalars, mean_std,  # noqa: E402
                                   read_scalars, read_test_metrics)

DEFAULT_VAL_KEYS = ('coco/bbox_mAP', 'lrp/bbox_oLRP')
DEFAULT_FINAL_KEYS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75',
                      'lrp/bbox_oLRP', 'lrp/bbox_oLRP_loc', 'lrp/bbox_oLRP_FP',
                      'lrp/bbox_oLRP_FN')


def parse_group(spec: str) -> Tuple[str, List[str]]:
    """``LABEL=DIR[,DIR...]`` -> (label, work dirs), globs expanded."""
    label, sep, dirs = spec.partition('=')
    if not sep or not label or not dirs:
        raise ValueError(f'a group is LABEL=DIR[,DIR...], got {spec!r}')
    found = []
    for pattern in dirs.split(','):
        matches = sorted(glob.glob(pattern)) or [pattern]
        for path in matches:
            if not osp.isdir(path):
                raise FileNotFoundError(
                    f'group {label!r}: no work dir {path!r}')
            found.append(path)
    return label, found


def band(curves: Sequence[Curve]) -> Optional[Tuple[np.ndarray, ...]]:
    """(steps, mean, std) over the steps that every curve has."""
    if not curves:
        return None
    common = set.intersection(*(set(s for s, _ in c) for c in curves))
    if not common:
        return None
    steps = np.array(sorted(common))
    values = np.array([[dict(c)[s] for s in steps] for c in curves])
    std = values.std(axis=0, ddof=1) if len(curves) > 1 else 0 * steps
    return steps, values.mean(axis=0), std


def final_metrics(work_dir: str, scalars: Scalars,
                  keys: Sequence[str]) -> Dict[str, float]:
    """The test metrics of ``work_dir/test``, else the last validation."""
    metrics = read_test_metrics(osp.join(work_dir, 'test'))
    if metrics is None:
        metrics = {k: v[-1][1] for k, v in scalars.val.items()}
    return {k: metrics[k] for k in keys if k in metrics}


def draw_band(ax, result, label: str) -> None:
    if result is None:
        return
    steps, mean, std = result
    line, = ax.plot(steps, mean, marker='o' if len(steps) < 30 else None,
                    markersize=3, label=label)
    ax.fill_between(steps, mean - std, mean + std, alpha=0.25,
                    color=line.get_color())


def draw_finals(ax, runs: Dict[str, list], keys: Sequence[str]) -> None:
    """Bars of the final metrics (mean, ± std whiskers), groups side by side."""
    finals = {label: [final_metrics(d, s, keys) for d, s in group]
              for label, group in runs.items()}
    keys = [k for k in keys
            if any(k in f for group in finals.values() for f in group)]
    width = 0.8 / max(1, len(runs))
    x = np.arange(len(keys))
    for i, (label, group) in enumerate(finals.items()):
        stats = [mean_std([f[k] for f in group if k in f])
                 if any(k in f for f in group) else (np.nan, 0.0)
                 for k in keys]
        means, stds = zip(*stats) if stats else ((), ())
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, means, width,
               yerr=stds, capsize=2, label=f'{label} (n={len(group)})')
    ax.set_xticks(x, [k.split('/')[-1] for k in keys], rotation=45,
                  ha='right', fontsize=8)
    ax.set_title('final metrics (mean ± std)')


def compare_runs(groups: Sequence[Tuple[str, List[str]]], out_file: str,
                 loss_key: str = 'loss',
                 val_keys: Sequence[str] = DEFAULT_VAL_KEYS,
                 final_keys: Sequence[str] = DEFAULT_FINAL_KEYS) -> str:
    """Draw the comparison of ``groups`` into ``out_file``; returns it."""
    runs = {label: [(d, read_scalars(d)) for d in dirs]
            for label, dirs in groups}
    fig, axes = plt.subplots(
        1, 2 + len(val_keys), figsize=(4.6 * (2 + len(val_keys)), 4.2))
    for label, group in runs.items():
        n = len(group)
        draw_band(axes[0],
                  band([s.train[loss_key] for _, s in group
                        if loss_key in s.train]), f'{label} (n={n})')
        for ax, key in zip(axes[1:], val_keys):
            draw_band(ax, band([s.val[key] for _, s in group
                                if key in s.val]), f'{label} (n={n})')
    axes[0].set(title=f'training {loss_key}', xlabel='iteration',
                yscale='log')
    for ax, key in zip(axes[1:], val_keys):
        ax.set(title=f'validation {key}', xlabel='epoch')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    draw_finals(axes[-1], runs, final_keys)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('groups', nargs='+', metavar='LABEL=DIR[,DIR...]')
    parser.add_argument('--out', default='compare_runs.png')
    parser.add_argument('--loss-key', default='loss')
    parser.add_argument('--val-keys', nargs='+', default=DEFAULT_VAL_KEYS)
    parser.add_argument('--final-keys', nargs='+', default=DEFAULT_FINAL_KEYS)
    args = parser.parse_args()
    groups = [parse_group(spec) for spec in args.groups]
    print(compare_runs(groups, args.out, args.loss_key, args.val_keys,
                       args.final_keys))


if __name__ == '__main__':
    main()
