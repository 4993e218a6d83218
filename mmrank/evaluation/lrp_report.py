"""Reporting of the LRP evaluation: metric values, logged tables, plots."""
import logging
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Sequence

import numpy as np
from mmengine.logging import MMLogger
from terminaltables import AsciiTable

from .functional import LRPSummary

#: Key suffixes of the COCO area ranges.
AREA_SUFFIXES = {'small': 's', 'medium': 'm', 'large': 'l'}


def fmt(value: float) -> str:
    """A table cell: 3 decimals, or ``nan``."""
    return 'nan' if np.isnan(value) else f'{value:.3f}'


def result_dict(summaries: Dict[str, LRPSummary], names: Sequence[str],
                metric: str, classwise: bool) -> Dict[str, float]:
    """The metric values: ``<metric>_oLRP``, ``_oLRP_loc``, ``_oLRP_FP``,
    ``_oLRP_FN``, ``_oLRP_s/_m/_l`` of the evaluated area ranges and, with
    ``classwise``, ``<metric>_<class>_oLRP``; rounded to 3 decimals as
    ``CocoMetric`` rounds.
    """
    overall = summaries['all']
    if np.isnan(overall.molrp):
        MMLogger.get_current_instance().warning(
            'oLRP is undefined (nan): no class has ground truth')
    results = OrderedDict()
    results[f'{metric}_oLRP'] = overall.molrp
    results[f'{metric}_oLRP_loc'] = overall.loc
    results[f'{metric}_oLRP_FP'] = overall.fp
    results[f'{metric}_oLRP_FN'] = overall.fn
    for area, suffix in AREA_SUFFIXES.items():
        if area in summaries:
            results[f'{metric}_oLRP_{suffix}'] = summaries[area].molrp
    if classwise:
        for name, cls in zip(names, overall.classes):
            results[f'{metric}_{name}_oLRP'] = cls.olrp
    return OrderedDict(
        (k, float(np.round(v, 3))) for k, v in results.items())

def log_tables(summaries: Dict[str, LRPSummary], names: Sequence[str],
               metric: str, iou_thr: float, max_dets: int, classwise: bool,
               logger: logging.Logger) -> None:
    """Log the table of the area ranges, a copy-paste line and, with
    ``classwise``, the per-class table with the LRP-optimal thresholds."""
    header = ['area', 'oLRP', 'oLRP_loc', 'oLRP_FP', 'oLRP_FN']
    rows = [header] + [[
        area,
        fmt(s.molrp), fmt(s.loc),
        fmt(s.fp), fmt(s.fn)
    ] for area, s in summaries.items()]
    logger.info(f'{metric} optimal LRP (IoU={iou_thr}, '
                f'maxDets={max_dets}, lower is better):\n' +
                AsciiTable(rows).table)
    overall = summaries['all']
    logger.info(f'{metric}_oLRP_copypaste: {fmt(overall.molrp)} '
                f'{fmt(overall.loc)} {fmt(overall.fp)} '
                f'{fmt(overall.fn)}')
    if not classwise:
        return
    header = ['category', 'oLRP', 'oLRP_loc', 'oLRP_FP', 'oLRP_FN',
              'threshold'] + [f'oLRP_{AREA_SUFFIXES[a]}'
                              for a in summaries if a != 'all']
    rows = [header]
    for i, name in enumerate(names):
        cls = overall.classes[i]
        rows.append([
            name,
            fmt(cls.olrp), fmt(cls.loc),
            fmt(cls.fp), fmt(cls.fn),
            fmt(cls.threshold)
        ] + [
            fmt(s.classes[i].olrp)
            for a, s in summaries.items() if a != 'all'
        ])
    logger.info('\n' + AsciiTable(rows).table)

def save_lrp_plots(summary: LRPSummary, names: Sequence[str],
                   out_dir: str) -> List[str]:
    """Save, per class with ground truth, LRP and its components against the
    score threshold, and the precision-recall curve (Agg canvas, no pyplot).

    Args:
        summary: The evaluation of one area range.
        names: Class names, by label index.
        out_dir: Output directory (created).

    Returns:
        The written file paths.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for index, (name, cls) in enumerate(zip(names, summary.classes)):
        if cls.curve is None:
            continue
        curve = cls.curve
        fig = Figure(figsize=(10, 4))
        FigureCanvasAgg(fig)
        ax_lrp, ax_pr = fig.subplots(1, 2)
        for values, label in ((curve.lrp, 'LRP'), (curve.loc, 'LRP_loc'),
                              (curve.fp, 'LRP_FP'), (curve.fn, 'LRP_FN')):
            ax_lrp.plot(curve.thresholds, values, label=label)
        if not np.isnan(cls.threshold):
            ax_lrp.axvline(cls.threshold, color='k', linestyle=':',
                           label=f'optimal s={cls.threshold:.3f}')
        ax_lrp.set(xlabel='score threshold', ylabel='error', ylim=(0, 1.02),
                   title=f'{name}: oLRP={cls.olrp:.3f}')
        ax_lrp.legend(fontsize='small')
        ax_pr.plot(curve.recall, curve.precision)
        ax_pr.set(xlabel='recall', ylabel='precision', xlim=(0, 1.02),
                  ylim=(0, 1.02), title='precision-recall')
        fig.tight_layout()
        safe = ''.join(c if c.isalnum() else '_' for c in name)
        path = osp.join(out_dir, f'{index:03d}_{safe}.png')
        fig.savefig(path, dpi=80)
        paths.append(path)
    return paths
