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
import json
import logging
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.fileio import dump, get_local_path
from mmengine.logging import MMLogger
from terminaltables import AsciiTable

from mmrank.evaluation.functional import (COCO_AREA_RANGES, LRPSummary,
                                          coco_bbox_iou, eval_lrp)
from mmrank.registry import register

#: Key suffixes of the COCO area ranges.
AREA_SUFFIXES = {'small': 's', 'medium': 'm', 'large': 'l'}
#: Per-image detections: ``{img_id: dict(bboxes (xywh), scores, labels,
#: masks (optional RLE list))}``.
Detections = Dict[int, Dict[str, object]]


def _mask_iou(det_rles: list, gt_rles: list,
              gt_iscrowd: np.ndarray) -> np.ndarray:
    """COCO mask IoU (crowd regions as in :func:`coco_bbox_iou`)."""
    from pycocotools import mask as mask_util
    return np.asarray(
        mask_util.iou(det_rles, gt_rles, [int(c) for c in gt_iscrowd]),
        dtype=np.float64).reshape(len(det_rles), len(gt_rles))


def _xyxy_to_xywh(bboxes: np.ndarray) -> np.ndarray:
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([bboxes[:, :2], bboxes[:, 2:] - bboxes[:, :2]], 1)


def _to_numpy(value) -> np.ndarray:
    """Tensor (any device) or array-like to a numpy array."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().float().numpy() \
            if value.is_floating_point() else value.detach().cpu().numpy()
    return np.asarray(value)


def _str_counts(rle: dict) -> dict:
    """An RLE with ``str`` counts (json-serialisable), as CocoMetric."""
    counts = rle['counts']
    return dict(rle, counts=counts.decode()
                if isinstance(counts, bytes) else counts)


def _fmt(value: float) -> str:
    return 'nan' if np.isnan(value) else f'{value:.3f}'


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
        self.area_names = ['all'] + (list(AREA_SUFFIXES) if area_ranges else
                                     [])
        self.iou_thr = iou_thr
        self.max_dets = max_dets
        self.save_plots = save_plots
        self.out_dir = out_dir
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.backend_args = backend_args
        self._coco_api = None
        if ann_file is not None:
            from pycocotools.coco import COCO
            with get_local_path(ann_file,
                                backend_args=backend_args) as local_path:
                self._coco_api = COCO(local_path)

    # ------------------------------------------------------------------
    # collection (as CocoMetric)
    # ------------------------------------------------------------------
    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store the predictions (and ground truth without ``ann_file``).

        Args:
            data_batch: A batch from the dataloader (unused).
            data_samples: Data samples with ``pred_instances`` (``bboxes``
                ``xyxy``, ``scores``, ``labels``, optionally ``masks`` and
                ``mask_scores``), ``img_id`` and ``ori_shape``.
        """
        for sample in data_samples:
            pred = sample['pred_instances']
            result = dict(
                img_id=sample['img_id'],
                bboxes=_to_numpy(pred['bboxes']).astype(np.float32),
                scores=_to_numpy(pred['scores']).astype(np.float32),
                labels=_to_numpy(pred['labels']).astype(np.int64))
            if 'masks' in pred:
                masks = pred['masks']
                result['masks'] = (
                    self._encode_masks(_to_numpy(masks))
                    if hasattr(masks, 'shape') else
                    [_str_counts(rle) for rle in masks])
            if 'mask_scores' in pred:
                result['mask_scores'] = _to_numpy(
                    pred['mask_scores']).astype(np.float32)
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
            self.results.append((gt, result))

    @staticmethod
    def _encode_masks(masks: np.ndarray) -> List[dict]:
        """Binary (N, H, W) masks to COCO RLEs with ``str`` counts."""
        from pycocotools import mask as mask_util
        return [
            _str_counts(
                mask_util.encode(
                    np.asfortranarray(mask[:, :, None].astype(np.uint8)))[0])
            for mask in masks
        ]

    # ------------------------------------------------------------------
    # ground truth
    # ------------------------------------------------------------------
    def _gt_api_from_samples(self, gts: Sequence[dict]):
        """A COCO api over the samples' ground truth (``CocoMetric``'s
        ``gt_to_coco_json``: category id = label, area = box area)."""
        from pycocotools.coco import COCO
        images, annotations = [], []
        for gt in gts:
            images.append(
                dict(id=gt['img_id'], width=gt['width'],
                     height=gt['height']))
            for ann in gt['anns']:
                x1, y1, x2, y2 = (float(v) for v in ann['bbox'])
                coco_ann = dict(
                    id=len(annotations) + 1,
                    image_id=gt['img_id'],
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    area=(x2 - x1) * (y2 - y1),
                    iscrowd=int(ann.get('ignore_flag', 0)),
                    category_id=int(ann['bbox_label']))
                if ann.get('mask', None) is not None:
                    coco_ann['segmentation'] = ann['mask']
                annotations.append(coco_ann)
        api = COCO()
        api.dataset = dict(
            images=images,
            annotations=annotations,
            categories=[
                dict(id=i, name=name)
                for i, name in enumerate(self.dataset_meta['classes'])
            ])
        api.createIndex()
        return api

    def class_ids(self, api) -> Tuple[List[int], List[str]]:
        """Category ids of the label indices, and the class names."""
        if self.dataset_meta and 'classes' in self.dataset_meta:
            cat_ids = api.getCatIds(catNms=list(self.dataset_meta['classes']))
        else:
            cat_ids = api.getCatIds()
        return cat_ids, [api.cats[c]['name'] for c in cat_ids]

    # ------------------------------------------------------------------
    # evaluation
    # ------------------------------------------------------------------
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute oLRP from the collected ``(gt, prediction)`` pairs.

        Args:
            results: The processed results of every rank.

        Returns:
            ``<metric>_oLRP``, ``_oLRP_loc``, ``_oLRP_FP``, ``_oLRP_FN`` (and
            ``_oLRP_s/_m/_l``, per-class ``<metric>_<class>_oLRP``).
        """
        gts, preds = zip(*results) if results else ((), ())
        api = self._coco_api or self._gt_api_from_samples(gts)
        cat_ids, _ = self.class_ids(api)
        if self.outfile_prefix is not None:
            self.dump_results(preds, cat_ids, self.outfile_prefix)
        if self.format_only:
            MMLogger.get_current_instance().info(
                f'results are saved in {osp.dirname(self.outfile_prefix)}')
            return OrderedDict()
        eval_results = OrderedDict()
        for metric in self.metrics:
            eval_results.update(
                self.evaluate_detections(
                    self.detections_from_results(preds, metric), metric,
                    api))
        return eval_results

    @staticmethod
    def detections_from_results(preds: Sequence[dict],
                                metric: str) -> Detections:
        """Per-image detections from processed predictions.

        Args:
            preds: Results stored by :meth:`process`.
            metric: ``'bbox'`` or ``'segm'`` (segm uses ``mask_scores``
                when present, as ``CocoMetric``).
        """
        detections = {}
        for pred in preds:
            det = dict(
                bboxes=_xyxy_to_xywh(pred['bboxes']),
                scores=np.asarray(pred['scores'], dtype=np.float64),
                labels=np.asarray(pred['labels'], dtype=np.int64))
            if metric == 'segm':
                if 'masks' not in pred:
                    raise ValueError(
                        "metric 'segm' needs predicted masks "
                        '(pred_instances.masks)')
                det['masks'] = pred['masks']
                det['scores'] = np.asarray(
                    pred.get('mask_scores', pred['scores']), np.float64)
            detections[pred['img_id']] = det
        return detections

    @staticmethod
    def detections_from_coco_json(dets: Sequence[dict],
                                  cat_ids: Sequence[int],
                                  metric: str = 'bbox') -> Detections:
        """Per-image detections from a COCO results list (json).

        Args:
            dets: Dicts with ``image_id``, ``category_id``, ``score`` and
                ``bbox`` (``xywh``) for bbox or ``segmentation`` (RLE) for
                segm.
            cat_ids: Category id of each label index.
            metric: ``'bbox'`` or ``'segm'``.
        """
        label_of = {cat: i for i, cat in enumerate(cat_ids)}
        grouped: Dict[int, List[dict]] = {}
        for det in dets:
            if det['category_id'] in label_of:
                grouped.setdefault(det['image_id'], []).append(det)
        detections = {}
        for img_id, items in grouped.items():
            det = dict(
                scores=np.array([d['score'] for d in items], np.float64),
                labels=np.array([label_of[d['category_id']] for d in items],
                                np.int64))
            if metric == 'segm':
                det['masks'] = [d['segmentation'] for d in items]
            else:
                det['bboxes'] = np.array([d['bbox'] for d in items],
                                         np.float64).reshape(-1, 4)
            detections[img_id] = det
        return detections

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
        cat_ids, _ = self.class_ids(self._coco_api)
        return self.evaluate_detections(
            self.detections_from_coco_json(dets, cat_ids, metric), metric)

    def dump_results(self, preds: Sequence[dict], cat_ids: Sequence[int],
                     outfile_prefix: str) -> Dict[str, str]:
        """Write COCO results json files, named as ``CocoMetric`` does."""
        files = {}
        for metric in ('bbox', 'segm'):
            if metric == 'segm' and not all('masks' in p for p in preds):
                continue
            entries = []
            for img_id, det in self.detections_from_results(preds,
                                                            metric).items():
                for i, label in enumerate(det['labels']):
                    entry = dict(
                        image_id=img_id,
                        bbox=det['bboxes'][i].tolist(),
                        score=float(det['scores'][i]),
                        category_id=cat_ids[label])
                    if metric == 'segm':
                        entry['segmentation'] = det['masks'][i]
                    entries.append(entry)
            files[metric] = f'{outfile_prefix}.{metric}.json'
            dump(entries, files[metric])
        return files

    def _images(self, detections: Detections, api, cat_ids: List[int],
                metric: str) -> List[dict]:
        """Per-image records of :func:`eval_lrp` over the api's images."""
        from pycocotools import mask as mask_util
        label_of = {cat: i for i, cat in enumerate(cat_ids)}
        images = []
        for img_id in api.getImgIds():
            anns = [
                a for a in api.imgToAnns.get(img_id, [])
                if a['category_id'] in label_of
            ]
            det = detections.get(
                img_id,
                dict(bboxes=np.zeros((0, 4)), scores=np.zeros(0),
                     labels=np.zeros(0, np.int64), masks=[]))
            record = dict(
                det_scores=det['scores'],
                det_labels=det['labels'],
                gt_labels=np.array([label_of[a['category_id']] for a in anns],
                                   np.int64),
                gt_iscrowd=np.array([a.get('iscrowd', 0) for a in anns]),
                gt_areas=np.array([a['area'] for a in anns], np.float64))
            if metric == 'segm':
                record['det_regions'] = det['masks']
                record['det_areas'] = np.asarray(
                    mask_util.area(det['masks']) if det['masks'] else [],
                    np.float64).reshape(-1)
                record['gt_regions'] = [api.annToRLE(a) for a in anns]
            else:
                record['det_regions'] = det['bboxes']
                record['det_areas'] = det['bboxes'][:, 2] * det['bboxes'][:, 3]
                record['gt_regions'] = np.array([a['bbox'] for a in anns],
                                                np.float64).reshape(-1, 4)
            images.append(record)
        return images

    def evaluate_detections(self, detections: Detections, metric: str,
                            api=None) -> Dict[str, float]:
        """oLRP of per-image detections against the annotation api.

        Args:
            detections: From :meth:`detections_from_results` or
                :meth:`detections_from_coco_json`.
            metric: ``'bbox'`` or ``'segm'``.
            api: pycocotools ``COCO`` of the ground truth; defaults to the
                one loaded from ``ann_file``.

        Returns:
            The metric values, rounded to 3 decimals as ``CocoMetric``.
        """
        api = api or self._coco_api
        if api is None:
            raise ValueError('evaluate_detections needs ann_file or api')
        logger = MMLogger.get_current_instance()
        logger.info(f'Evaluating oLRP ({metric})...')
        cat_ids, names = self.class_ids(api)
        summaries = eval_lrp(
            self._images(detections, api, cat_ids, metric),
            num_classes=len(cat_ids),
            area_ranges={n: COCO_AREA_RANGES[n]
                         for n in self.area_names},
            iou_thr=self.iou_thr,
            max_dets=self.max_dets,
            iou_fn=_mask_iou if metric == 'segm' else coco_bbox_iou)
        self._log_tables(summaries, names, metric, logger)
        self._save_outputs(summaries, names, metric, logger)
        return self._result_dict(summaries, names, metric)

    def _result_dict(self, summaries: Dict[str, LRPSummary],
                     names: List[str], metric: str) -> Dict[str, float]:
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
        if self.classwise:
            for name, cls in zip(names, overall.classes):
                results[f'{metric}_{name}_oLRP'] = cls.olrp
        return OrderedDict(
            (k, float(np.round(v, 3))) for k, v in results.items())

    def _log_tables(self, summaries: Dict[str, LRPSummary], names: List[str],
                    metric: str, logger: logging.Logger) -> None:
        header = ['area', 'oLRP', 'oLRP_loc', 'oLRP_FP', 'oLRP_FN']
        rows = [header] + [[
            area,
            _fmt(s.molrp), _fmt(s.loc),
            _fmt(s.fp), _fmt(s.fn)
        ] for area, s in summaries.items()]
        logger.info(f'{metric} optimal LRP (IoU={self.iou_thr}, '
                    f'maxDets={self.max_dets}, lower is better):\n' +
                    AsciiTable(rows).table)
        overall = summaries['all']
        logger.info(f'{metric}_oLRP_copypaste: {_fmt(overall.molrp)} '
                    f'{_fmt(overall.loc)} {_fmt(overall.fp)} '
                    f'{_fmt(overall.fn)}')
        if not self.classwise:
            return
        header = ['category', 'oLRP', 'oLRP_loc', 'oLRP_FP', 'oLRP_FN',
                  'threshold'] + [f'oLRP_{AREA_SUFFIXES[a]}'
                                  for a in summaries if a != 'all']
        rows = [header]
        for i, name in enumerate(names):
            cls = overall.classes[i]
            rows.append([
                name,
                _fmt(cls.olrp), _fmt(cls.loc),
                _fmt(cls.fp), _fmt(cls.fn),
                _fmt(cls.threshold)
            ] + [
                _fmt(s.classes[i].olrp)
                for a, s in summaries.items() if a != 'all'
            ])
        logger.info('\n' + AsciiTable(rows).table)

    def _resolve_out_dir(self, logger: logging.Logger) -> Optional[str]:
        """``out_dir``, else the directory of the logger's log file."""
        if self.out_dir is not None:
            return self.out_dir
        for handler in logger.handlers:
            if isinstance(handler, logging.FileHandler):
                return osp.dirname(handler.baseFilename)
        return None

    def _save_outputs(self, summaries: Dict[str, LRPSummary],
                      names: List[str], metric: str,
                      logger: logging.Logger) -> None:
        out_dir = self._resolve_out_dir(logger)
        if out_dir is None:
            if self.save_plots:
                logger.warning('LRPMetric: no out_dir and no log file, '
                               'plots and thresholds are not saved')
            return
        os.makedirs(out_dir, exist_ok=True)
        path = osp.join(out_dir, f'{metric}_lrp_thresholds.json')
        with open(path, 'w') as f:
            json.dump(thresholds_dict(summaries['all'], names), f, indent=2)
        logger.info(f'LRP-optimal thresholds saved to {path}')
        if self.save_plots:
            plot_dir = osp.join(out_dir, f'{metric}_lrp_plots')
            save_lrp_plots(summaries['all'], names, plot_dir)
            logger.info(f'LRP plots saved to {plot_dir}')


def thresholds_dict(summary: LRPSummary,
                    names: Sequence[str]) -> Dict[str, dict]:
    """Class-wise LRP-optimal thresholds and oLRP values (None if undefined).

    Args:
        summary: The evaluation of one area range.
        names: Class names, by label index.
    """

    def value(v: float) -> Optional[float]:
        return None if np.isnan(v) else float(v)

    return {
        name: dict(
            threshold=value(cls.threshold),
            oLRP=value(cls.olrp),
            oLRP_loc=value(cls.loc),
            oLRP_FP=value(cls.fp),
            oLRP_FN=value(cls.fn),
            num_gt=cls.num_gt)
        for name, cls in zip(names, summary.classes)
    }


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
