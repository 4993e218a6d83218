"""Plot a training run: losses, self-balancing weight, validation metrics.

Reads every ``<work_dir>/<timestamp>/vis_data/scalars.json`` in time order,
so a run resumed with ``--resume`` is plotted whole. Panels: the logged
losses (log scale), the self-balancing localisation weight
(``<head>.loc_weight``, when logged) and the validation metrics per epoch
(COCO AP, AP50, AP75, oLRP and its components, accuracy, PCK, ...) together
with the training rank correlation ``<head>.rank_corr`` when logged, all
against the training iteration.

Example:
    python tools/analysis_tools/plot_training.py work_dirs/demo
"""
import argparse
import os.path as osp
from typing import Dict, List

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from mmrank.utils.run_logs import Curve, Scalars, read_scalars  # noqa: E402

AREA_SUFFIXES = ('_s', '_m', '_l')


def loss_curves(scalars: Scalars) -> Dict[str, Curve]:
    return {k: v for k, v in scalars.train.items() if 'loss' in k}


def weight_curves(scalars: Scalars) -> Dict[str, Curve]:
    return {k: v for k, v in scalars.train.items() if k.endswith('loc_weight')}


def val_curves(scalars: Scalars) -> Dict[str, Curve]:
    """Validation metrics on the iteration axis (area ranges left out)."""
    curves = {}
    for key, points in scalars.val.items():
        if key.endswith(AREA_SUFFIXES):
            continue
        curves[key] = [(scalars.val_iters.get(step, step), value)
                       for step, value in points]
    for key, points in scalars.train.items():
        if key.endswith('rank_corr'):
            curves[key + ' (train)'] = points
    return curves


def panels(scalars: Scalars) -> List[tuple]:
    """(title, y label, curves, log y) of each panel that has data."""
    found = [('losses', 'loss', loss_curves(scalars), True),
             ('self-balancing weight', 'w_r', weight_curves(scalars), False),
             ('validation', 'metric', val_curves(scalars), False)]
    return [panel for panel in found if panel[2]]


def plot_training(work_dir: str, out_file: str) -> str:
    """Save the panels of ``work_dir``'s run to ``out_file``; returns it."""
    scalars = read_scalars(work_dir)
    shown = panels(scalars)
    if not shown:
        raise ValueError(f'no loss, weight or metric logged under {work_dir}')
    fig, axes = plt.subplots(
        1, len(shown), figsize=(5.5 * len(shown), 4), squeeze=False)
    for ax, (title, ylabel, curves, log_y) in zip(axes[0], shown):
        for key, points in sorted(curves.items()):
            steps, values = zip(*points)
            dashed = 'oLRP' in key or 'rank_corr' in key
            ax.plot(steps, values, '--' if dashed else '-',
                    marker='o' if len(points) < 30 else None, markersize=3,
                    label=key)
        ax.set_title(title)
        ax.set_xlabel('iteration')
        ax.set_ylabel(ylabel)
        if log_y:
            ax.set_yscale('log')
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(osp.basename(osp.normpath(work_dir)), fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
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
