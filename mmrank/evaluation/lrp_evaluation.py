"""Optimal LRP of per-image detections against COCO ground truth: the
evaluation that ``LRPMetric`` and ``tools/analysis_tools/eval_lrp.py`` run."""
import os.path as osp
from typing import Dict, Optional, Sequence

from mmengine.logging import MMLogger

from .coco_io import (Detections, class_ids, detections_from_coco_json,
                      detections_from_results, image_records, load_coco_api,
                      mask_iou, prediction_record)
from .functional import COCO_AREA_RANGES, coco_bbox_iou, eval_lrp
from .lrp_report import AREA_SUFFIXES, log_tables, result_dict, save_lrp_plots
from .lrp_thresholds import write_lrp_thresholds


def evaluate_lrp(detections: Detections,
                 api,
                 metric: str = 'bbox',
                 classes: Optional[Sequence[str]] = None,
                 classwise: bool = False,
                 area_ranges: bool = False,
                 iou_thr: float = 0.5,
                 max_dets: int = 100,
                 out_dir: Optional[str] = None,
                 save_plots: bool = False) -> Dict[str, float]:
    """oLRP of per-image detections; logs the tables and writes the
    thresholds json (and the plots) to ``out_dir``.

    Args:
        detections: From :func:`~.coco_io.detections_from_results` or
            :func:`~.coco_io.detections_from_coco_json`.
        api: pycocotools ``COCO`` of the ground truth.
        metric: ``'bbox'`` or ``'segm'``.
        classes: The class names by label; None: every category of
            ``api`` in file order.
        classwise: Log a per-class table and return per-class oLRPs.
        area_ranges: Also evaluate COCO's small/medium/large objects.
        iou_thr: TP validation threshold τ.
        max_dets: Detections evaluated per image and class.
        out_dir: Directory of the thresholds json and the plots; None
            saves nothing.
        save_plots: Save the per-class figures.

    Returns:
        dict: The values of :func:`~.lrp_report.result_dict`.
    """
    logger = MMLogger.get_current_instance()
    logger.info(f'Evaluating oLRP ({metric})...')
    cat_ids, names = class_ids(api, classes)
    area_names = ['all'] + (list(AREA_SUFFIXES) if area_ranges else [])
    summaries = eval_lrp(
        image_records(detections, api, cat_ids, metric),
        num_classes=len(cat_ids),
        area_ranges={name: COCO_AREA_RANGES[name]
                     for name in area_names},
        iou_thr=iou_thr,
        max_dets=max_dets,
        iou_fn=mask_iou if metric == 'segm' else coco_bbox_iou)
    log_tables(summaries, names, metric, iou_thr, max_dets, classwise,
               logger)
    if out_dir is None:
        if save_plots:
            logger.warning('LRPMetric: no out_dir and no log file, '
                           'plots and thresholds are not saved')
    else:
        path = write_lrp_thresholds(summaries['all'], names, out_dir, metric)
        logger.info(f'LRP-optimal thresholds saved to {path}')
        if save_plots:
            plot_dir = osp.join(out_dir, f'{metric}_lrp_plots')
            save_lrp_plots(summaries['all'], names, plot_dir)
            logger.info(f'LRP plots saved to {plot_dir}')
    return result_dict(summaries, names, metric, classwise)


def evaluate_lrp_results(ann_file: str,
                         results: list,
                         metrics: Sequence[str] = ('bbox', ),
                         classes: Optional[Sequence[str]] = None,
                         **options) -> Dict[str, float]:
    """oLRP of saved detections against a COCO annotation file.

    Args:
        ann_file: COCO-format annotation file.
        results: The data samples of ``tools/test.py --out`` (with
            ``pred_instances``), or a COCO results list (``image_id``,
            ``category_id``, ``score``, ``bbox`` or ``segmentation``).
        metrics: ``'bbox'`` and/or ``'segm'``.
        classes: Class names of the label indices of data samples; None:
            every category of ``ann_file`` in file order.
        **options: ``classwise``, ``area_ranges``, ``iou_thr``,
            ``max_dets``, ``out_dir``, ``save_plots`` of
            :func:`evaluate_lrp`.

    Returns:
        dict: The values of every metric.
    """
    api = load_coco_api(ann_file)
    cat_ids, _ = class_ids(api, classes)
    is_coco_json = bool(results) and 'category_id' in results[0]
    preds = [] if is_coco_json else [prediction_record(r) for r in results]
    values = {}
    for metric in metrics:
        detections = (
            detections_from_coco_json(results, cat_ids, metric)
            if is_coco_json else detections_from_results(preds, metric))
        values.update(
            evaluate_lrp(detections, api, metric, classes, **options))
    return values
