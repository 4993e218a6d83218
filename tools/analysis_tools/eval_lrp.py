"""Evaluate saved detections with the optimal LRP Error, without a model.

Accepts the pickle of mmdet's ``tools/test.py --out results.pkl`` or a COCO
results json (``[{image_id, category_id, bbox, score}, ...]``, e.g. a
``CocoMetric`` ``outfile_prefix`` dump), and the COCO annotation file::

    python tools/analysis_tools/eval_lrp.py ANN_FILE RESULTS \
        [--metric bbox segm] [--classwise] [--area-ranges] \
        [--out-dir DIR [--plot]]

Label indices of a pickle map to the annotation file's categories in file
order (as ``CocoMetric`` does when the dataset's classes are those
categories); pass ``--classes`` to map them to named classes instead.
"""
import argparse
import sys
from typing import Dict, List, Optional

from mmengine.fileio import load

from mmrank.evaluation.lrp_evaluation import evaluate_lrp_results


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Optimal LRP of saved detection results')
    parser.add_argument('ann_file', help='COCO-format annotation json')
    parser.add_argument(
        'results', help='tools/test.py --out pickle or COCO results json')
    parser.add_argument(
        '--metric', nargs='+', default=['bbox'], choices=['bbox', 'segm'])
    parser.add_argument(
        '--classwise', action='store_true', help='per-class table')
    parser.add_argument(
        '--area-ranges',
        action='store_true',
        help='also evaluate small / medium / large objects')
    parser.add_argument(
        '--classes',
        nargs='+',
        help='class names of the label indices of a pickle (defaults to '
        'all categories of ann_file)')
    parser.add_argument('--iou-thr', type=float, default=0.5)
    parser.add_argument('--max-dets', type=int, default=100)
    parser.add_argument(
        '--out-dir',
        help='directory for <metric>_lrp_thresholds.json (and plots)')
    parser.add_argument(
        '--plot',
        action='store_true',
        help='save per-class LRP / precision-recall plots to --out-dir')
    args = parser.parse_args(argv)
    if args.plot and args.out_dir is None:
        parser.error('--plot needs --out-dir')
    return args


def evaluate(args: argparse.Namespace) -> Dict[str, float]:
    """Evaluate ``args.results`` and return the metric values."""
    results = load(args.results)
    if not isinstance(results, list):
        raise ValueError(f'{args.results} must hold a list of results, got '
                         f'{type(results).__name__}')
    return evaluate_lrp_results(
        args.ann_file,
        results,
        args.metric,
        args.classes,
        classwise=args.classwise,
        area_ranges=args.area_ranges,
        iou_thr=args.iou_thr,
        max_dets=args.max_dets,
        out_dir=args.out_dir,
        save_plots=args.plot)


def main(argv: Optional[List[str]] = None) -> int:
    values = evaluate(parse_args(argv))
    for key, value in values.items():
        print(f'{key}: {value}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
