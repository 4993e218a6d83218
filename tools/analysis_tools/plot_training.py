"""Plot a training run: losses, balancing weight, rank correlation, metrics.

Reads every ``<work_dir>/<timestamp>/vis_data/scalars.json`` in time order,
so a run resumed with ``--resume`` is plotted whole. One panel each, all
against the training iteration, those without data left out:

* the logged losses (log scale);
* the self-balancing localisation weight (``<head>.loc_weight``);
* the training rank correlation of the positives' scores and IoUs
  (``<head>.rank_corr``, from ``RankingAnalysisHook``);
* the validation metrics where higher is better (↑: COCO AP, AP50, AP75,
  accuracy, PCK, ...);
* the validation metrics where lower is better (↓: oLRP and its
  components, EPE, ...).

A validation is drawn at its training iteration: the last iteration of its
epoch in epoch-based runs, the iteration it ran at in iteration-based ones.
Legends sit below their panels, over no data; the title names the run's
folder, its config and its schedule.

Example:
    python tools/analysis_tools/plot_training.py work_dirs/demo
"""
import argparse
import glob
import math
import os.path as osp
from typing import Dict, List, NamedTuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from mmrank.utils.run_logs import Curve, Scalars, read_scalars  # noqa: E402

AREA_SUFFIXES = ('_s', '_m', '_l')
#: Parts of a metric name (lower case) that mean lower is better.
LOWER_IS_BETTER = ('lrp', 'epe', 'nme', 'error', 'loss')


class Panel(NamedTuple):
    """One panel of the figure.

    Attributes:
        title: Panel title.
        ylabel: Y axis label.
        curves: Legend label -> points (iteration, value).
        log_y: Whether the y axis is logarithmic.
    """
    title: str
    ylabel: str
    curves: Dict[str, Curve]
    log_y: bool = False


def lower_is_better(key: str) -> bool:
    """Whether a smaller value of metric ``key`` is better (oLRP, EPE)."""
    return any(part in key.lower() for part in LOWER_IS_BETTER)


def loss_curves(scalars: Scalars) -> Dict[str, Curve]:
    """The logged training losses."""
    return {k: v for k, v in scalars.train.items() if 'loss' in k}


def weight_curves(scalars: Scalars) -> Dict[str, Curve]:
    """The self-balancing weights (``<head>.loc_weight``)."""
    return {k: v for k, v in scalars.train.items() if k.endswith('loc_weight')}


def rank_corr_curves(scalars: Scalars) -> Dict[str, Curve]:
    """The training rank correlations (``<head>.rank_corr``)."""
    return {k: v for k, v in scalars.train.items() if k.endswith('rank_corr')}


def val_curves(scalars: Scalars, lower: bool) -> Dict[str, Curve]:
    """Validation metrics of one direction on the iteration axis.

    Area ranges (``_s``, ``_m``, ``_l``) and non-finite values (oLRP_loc of
    a detector without true positives is NaN) are left out; each label
    ends with ↓ (lower is better) or ↑.

    Args:
        scalars: The run's scalars.
        lower: True for the lower-is-better metrics, False for the others.
    """
    curves = {}
    for key, points in scalars.val.items():
        if key.endswith(AREA_SUFFIXES) or lower_is_better(key) != lower:
            continue
        kept = [(scalars.val_iters.get(step, step), value)
                for step, value in points if math.isfinite(value)]
        if kept:
            curves[f'{key} {"↓" if lower else "↑"}'] = kept
    return curves


def panels(scalars: Scalars) -> List[Panel]:
    """The panels (:class:`Panel`) that have data, in display order."""
    found = [
        Panel('losses', 'loss', loss_curves(scalars), True),
        Panel('self-balancing weight', 'w_r', weight_curves(scalars)),
        Panel('training rank correlation of positives (score vs IoU)',
              'Spearman ρ', rank_corr_curves(scalars)),
        Panel('validation, higher is better ↑', 'metric',
              val_curves(scalars, lower=False)),
        Panel('validation, lower is better ↓', 'metric',
              val_curves(scalars, lower=True)),
    ]
    return [panel for panel in found if panel.curves]


def run_title(work_dir: str, scalars: Scalars) -> str:
    """The run's folder, its config (the copy mmengine saves in the
    work_dir) and its schedule, e.g. ``demo: alrp-loss_..._digits.py,
    6 epochs, 1200 iterations``."""
    name = osp.basename(osp.normpath(work_dir))
    configs = sorted(osp.basename(p)
                     for p in glob.glob(osp.join(work_dir, '*.py')))
    iters = max((step for curve in scalars.train.values()
                 for step, _ in curve), default=0)
    epochs = scalars.train.get('epoch')
    schedule = (f'{int(epochs[-1][1])} epochs, ' if epochs else
                'iteration-based, ') + f'{iters} iterations'
    return f'{name}: {", ".join(configs + [schedule])}'


def training_figure(work_dir: str) -> plt.Figure:
    """The figure of ``work_dir``'s run: one axes per :func:`panels` entry.

    Raises:
        ValueError: When the run logged no loss, weight or metric.
    """
    scalars = read_scalars(work_dir)
    shown = panels(scalars)
    if not shown:
        raise ValueError(f'no loss, weight or metric logged under {work_dir}')
    cols = min(len(shown), 3)
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.2 * cols, 4.4 * rows), squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.remove()
    for ax, panel in zip(axes.flat, shown):
        for key, points in sorted(panel.curves.items()):
            steps, values = zip(*points)
            ax.plot(steps, values, marker='o' if len(points) < 30 else None,
                    markersize=3, label=key)
        ax.set_title(panel.title, fontsize=9)
        ax.set_xlabel('iteration')
        ax.set_ylabel(panel.ylabel)
        if panel.log_y:
            ax.set_yscale('log')
        ax.legend(fontsize=7, loc='upper center', ncol=2, frameon=False,
                  bbox_to_anchor=(0.5, -0.16))
        ax.grid(alpha=0.3)
    fig.suptitle(run_title(work_dir, scalars), fontsize=10)
    fig.tight_layout()
    return fig


def plot_training(work_dir: str, out_file: str) -> str:
    """Save the panels of ``work_dir``'s run to ``out_file``; returns it."""
    fig = training_figure(work_dir)
    # 'tight' grows the image to hold the legends below the panels.
    fig.savefig(out_file, dpi=100, bbox_inches='tight')
    plt.close(fig)
    return out_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir')
    parser.add_argument('--out', help='image file (default: '
                        '<work_dir>/loss_curves.png)')
    args = parser.parse_args()
    print(plot_training(args.work_dir,
                        args.out or osp.join(args.work_dir, 'loss_curves.png')))


if __name__ == '__main__':
    main()
