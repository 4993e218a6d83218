"""Plot the training losses of a run from its mmengine scalars log.

Example:
    python tools/analysis_tools/plot_training.py work_dirs/demo
"""
import argparse
import glob
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def read_scalars(work_dir: str) -> Dict[str, List[Tuple[int, float]]]:
    """Read ``<work_dir>/<timestamp>/vis_data/scalars.json`` (the newest)."""
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not paths:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir}')
    curves: Dict[str, List[Tuple[int, float]]] = defaultdict(list)
    with open(paths[-1]) as f:
        for line in f:
            record = json.loads(line)
            step = record.get('iter', record.get('step'))
            for key, value in record.items():
                if 'loss' in key and isinstance(value, (int, float)):
                    curves[key].append((step, value))
    return curves


def plot_losses(work_dir: str, out_file: str) -> str:
    """Save the loss curves of ``work_dir`` to ``out_file``; returns it."""
    curves = read_scalars(work_dir)
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, points in sorted(curves.items()):
        steps, values = zip(*points)
        ax.plot(steps, values, label=key)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.set_yscale('log')
    ax.legend()
    ax.grid(alpha=0.3)
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
    print(plot_losses(args.work_dir,
                      args.out or osp.join(args.work_dir, 'loss_curves.png')))


if __name__ == '__main__':
    main()
