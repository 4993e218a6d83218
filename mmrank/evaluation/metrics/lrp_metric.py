"""Optimal LRP (oLRP) metric for mmdet, listed beside ``CocoMetric``.

Example::

    val_evaluator = [
        dict(type='CocoMetric', ann_file=ann_file, metric='bbox'),
        dict(type='LRPMetric', ann_file=ann_file, metric='bbox',
             classwise=True),
    ]

reports ``coco/bbox_mAP...`` and ``lrp/bbox_oLRP``, ``lrp/bbox_oLRP_loc``,
``lrp/bbox_oLRP_FP``, ``lrp/bbox_oLRP_FN`` (lower is better: select
checkpoints with ``save_best='lrp/bbox_oLRP', rule='less'``).
"""
import logging
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmrank.registry import register
from ..coco_io import (class_ids, detections_from_coco_json,
                       detections_from_results, dump_results,
                       gt_api_from_samples, load_coco_api, prediction_record)
from ..lrp_evaluation import evaluate_lrp


@register('mmdet', 'METRICS')
class LRPMetric(BaseMetric):
    """Optimal LRP Error of detections (Oksuz et al., ECCV 2018, TPAMI 2021).

    Ground truth, class mapping and image set are those of mmdet's
    ``CocoMetric`` (the annotation file's images, ``cat_ids`` from the
    dataset's class names), detections are matched as COCO does at
    ``iou_thr`` = 0.5 (crowd regions and area ranges included), and the
    oLRP of every class is the minimum over score thresholds of the LRP
    Error; see :mod:`mmrank.evaluation.functional.lrp` for the definitions
    and the conventions for classes without ground truth or detections.

    Besides the returned keys, the class-wise LRP-optimal thresholds are
    written to ``<out_dir>/<metric>_lrp_thresholds.json`` (users filter
    detections of class c with score >= threshold[c] to deploy the
    detector) and, with ``save_plots``, one figure per class (LRP and its
    components against the score threshold, and the precision-recall
    curve) to ``<out_dir>/<metric>_lrp_plots/``.

    Args:
        ann_file: COCO-format annotation file. If None, the ground truth of
            the data samples (``instances``) is used, as ``CocoMetric``
            does.
        metric: ``'bbox'``, ``'segm'`` or a list of them.
        classwise: Log a per-class table and return per-class oLRPs.
        area_ranges: Also evaluate small/medium/large objects (COCO's
            ranges) and return ``<metric>_oLRP_s/_m/_l``.
        iou_thr: TP validation threshold τ.
        max_dets: Detections evaluated per image and class (COCO: 100).
        save_plots: Save the per-class figures (matplotlib, Agg).
        out_dir: Directory for the thresholds json and the figures. If
            None, the directory of the current log file (the runner's
            ``<work_dir>/<timestamp>``) is used, or nothing is saved when
            there is no log file.
        format_only: Only dump the detections to COCO json files
            (``<outfile_prefix>.bbox.json`` / ``.segm.json``) and return
            no metric, as ``CocoMetric`` does.
        outfile_prefix: Prefix of those json files; they are written when
            given, and it is required with ``format_only``.
        backend_args: File backend arguments for ``ann_file``.
        collect_device: Device for collecting results across ranks.
        prefix: Key prefix; defaults to ``'lrp'``.
    """
    default_prefix: Optional[str] = 'lrp'

    def __init__(self,
                 ann_file: Optional[str] = None,
                 metric: Union[str, List[str]] = 'bbox',
                 classwise: bool = False,
                 area_ranges: bool = False,
                 iou_thr: float = 0.5,
                 max_dets: int = 100,
                 save_plots: bool = False,
                 out_dir: Optional[str] = None,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = metric if isinstance(metric, list) else [metric]
        for name in self.metrics:
            if name not in ('bbox', 'segm'):
                raise ValueError(
                    f"metric must be 'bbox' or 'segm', got {name!r}")
        if not 0 <= iou_thr < 1:
            raise ValueError(f'iou_thr must be in [0, 1), got {iou_thr}')
        if max_dets < 1:
            raise ValueError(f'max_dets must be >= 1, got {max_dets}')
        if format_only and outfile_prefix is None:
            raise ValueError('outfile_prefix is required with format_only')
        self.classwise = classwise
        self.area_ranges = area_ranges
        self.iou_thr = iou_thr
        self.max_dets = max_dets
        self.save_plots = save_plots
        self.out_dir = out_dir
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.backend_args = backend_args
        self._coco_api = None if ann_file is None else load_coco_api(
            ann_file, backend_args)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store the predictions (and ground truth without ``ann_file``).

        Args:
            data_batch: A batch from the dataloader (unused).
            data_samples: Data samples with ``pred_instances`` (``bboxes``
                ``xyxy``, ``scores``, ``labels``, optionally ``masks`` and
                ``mask_scores``), ``img_id`` and ``ori_shape``.
        """
        for sample in data_samples:
            gt = dict(
                img_id=sample['img_id'],
                width=sample['ori_shape'][1],
                height=sample['ori_shape'][0])
            if self._coco_api is None:
                if 'instances' not in sample:
                    raise ValueError(
                        'data samples need `instances` (ground truth) '
                        'when LRPMetric has no ann_file')
                gt['anns'] = sample['instances']
            self.results.append((gt, prediction_record(sample)))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute oLRP from the collected ``(gt, prediction)`` pairs.

        Args:
            results: The processed results of every rank.

        Returns:
            ``<metric>_oLRP``, ``_oLRP_loc``, ``_oLRP_FP``, ``_oLRP_FN`` (and
            ``_oLRP_s/_m/_l``, per-class ``<metric>_<class>_oLRP``).
        """
        gts, preds = zip(*results) if results else ((), ())
        api = self._coco_api or gt_api_from_samples(
            gts, self.dataset_meta['classes'])
        if self.outfile_prefix is not None:
            cat_ids, _ = class_ids(api, self._classes())
            dump_results(preds, cat_ids, self.outfile_prefix)
        if self.format_only:
            MMLogger.get_current_instance().info(
                f'results are saved in {osp.dirname(self.outfile_prefix)}')
            return OrderedDict()
        eval_results = OrderedDict()
        for metric in self.metrics:
            eval_results.update(
                self._evaluate(detections_from_results(preds, metric),
                               metric, api))
        return eval_results

    def evaluate_coco_json(self, dets: Sequence[dict],
                           metric: str = 'bbox') -> Dict[str, float]:
        """oLRP of a COCO results list against ``ann_file``.

        Args:
            dets: COCO results (``image_id``, ``category_id``, ``bbox``,
                ``score``, ``segmentation`` for segm).
            metric: ``'bbox'`` or ``'segm'``.
        """
        if self._coco_api is None:
            raise ValueError('evaluate_coco_json needs ann_file')
        cat_ids, _ = class_ids(self._coco_api, self._classes())
        return self._evaluate(
            detections_from_coco_json(dets, cat_ids, metric), metric,
            self._coco_api)

    def _classes(self) -> Optional[Sequence[str]]:
        """The dataset's class names, if known."""
        return (self.dataset_meta or {}).get('classes')

    def _evaluate(self, detections: dict, metric: str,
                  api) -> Dict[str, float]:
        """:func:`~mmrank.evaluation.lrp_evaluation.evaluate_lrp` with this
        metric's options."""
        return evaluate_lrp(
            detections,
            api,
            metric,
            self._classes(),
            classwise=self.classwise,
            area_ranges=self.area_ranges,
            iou_thr=self.iou_thr,
            max_dets=self.max_dets,
            out_dir=self._out_dir(),
            save_plots=self.save_plots)

    def _out_dir(self) -> Optional[str]:
        """``out_dir``, else the directory of the current log file."""
        if self.out_dir is not None:
            return self.out_dir
        for handler in MMLogger.get_current_instance().handlers:
            if isinstance(handler, logging.FileHandler):
                return osp.dirname(handler.baseFilename)
        return None
