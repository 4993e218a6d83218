"""The file of class-wise LRP-optimal score thresholds: writer, reader and
the rule that applies it.

:func:`write_lrp_thresholds` (called by ``LRPMetric`` and
``tools/analysis_tools/eval_lrp.py``) writes ``<metric>_lrp_thresholds.json``:
for each class name, the score threshold at which that class's LRP Error is
lowest on the evaluated set, with its oLRP and components::

    {"0": {"threshold": 0.071, "oLRP": 0.35, ..., "num_gt": 41}, ...}

Deploying the detector at these thresholds keeps a detection of class c
when its score >= threshold[c] (:func:`apply_lrp_thresholds`). A class whose
threshold is ``null`` (no true positive in the evaluation, so every
threshold is equally bad) keeps nothing. :func:`thresholded_predictions`
applies them to every prediction of a model through a forward hook, so
mmengine's test loop and mmdet's ``DetInferencer`` (both call ``test_step``,
which runs the model's forward in ``predict`` mode) keep the same
detections, for any detector whose predictions carry ``pred_instances``
with ``scores`` and ``labels``.
"""
import json
import logging
import math
import os
import os.path as osp
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.structures import InstanceData
from torch import nn

from .functional import LRPSummary

#: A thresholds json: its path, or its content.
ThresholdSource = Union[str, Dict[str, dict]]


def thresholds_file(out_dir: str, metric: str) -> str:
    """Path of the thresholds json of ``metric`` in ``out_dir``."""
    return osp.join(out_dir, f'{metric}_lrp_thresholds.json')


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

def write_lrp_thresholds(summary: LRPSummary, names: Sequence[str],
                         out_dir: str, metric: str) -> str:
    """Write :func:`thresholds_dict` to :func:`thresholds_file`.

    Returns:
        str: The written path.
    """
    os.makedirs(out_dir, exist_ok=True)
    path = thresholds_file(out_dir, metric)
    with open(path, 'w') as f:
        json.dump(thresholds_dict(summary, names), f, indent=2)
    return path


def read_lrp_thresholds(source: ThresholdSource) -> Dict[str, Optional[float]]:
    """Class name -> LRP-optimal threshold (None: keep nothing).

    Args:
        source: Path of a ``bbox_lrp_thresholds.json``, or its content.

    Raises:
        ValueError: If the content is not of that format.
    """
    where = f'the LRP thresholds {source!r}' if isinstance(source, str) \
        else 'the LRP thresholds'
    if isinstance(source, str):
        with open(source, encoding='utf-8') as f:
            source = json.load(f)
    if not isinstance(source, dict) or not source:
        raise ValueError(f'{where} must map class names to '
                         '{"threshold": score, ...} entries, as '
                         'write_lrp_thresholds writes them')
    thresholds = {}
    for name, entry in source.items():
        value = entry.get('threshold', 'missing') \
            if isinstance(entry, dict) else 'missing'
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise ValueError(f'{where}: class {name!r} needs "threshold": a '
                             f'finite number or null, got {entry!r}')
        thresholds[str(name)] = None if value is None else float(value)
    return thresholds


def thresholds_by_label(source: ThresholdSource,
                        classes: Sequence[str]) -> torch.Tensor:
    """The thresholds of ``source`` indexed by label (``inf``: keep nothing).

    Args:
        source: Path or content of a thresholds json.
        classes: The detector's class names, by label (``dataset_meta``).

    Raises:
        ValueError: If the json's classes are not the detector's.
    """
    per_class = read_lrp_thresholds(source)
    classes = [str(name) for name in classes]
    missing = [name for name in classes if name not in per_class]
    unknown = [name for name in per_class if name not in classes]
    if missing or unknown:
        raise ValueError(
            'the LRP thresholds do not match the detector\'s classes '
            f'{classes}: no threshold for {missing}, thresholds for unknown '
            f'classes {unknown}; use the thresholds json of an evaluation on '
            'the same classes')
    dropped = [name for name in classes if per_class[name] is None]
    if dropped:
        print_log(
            f'LRP thresholds: classes {dropped} have no threshold (no true '
            'positive where they were computed); their detections are '
            'dropped', logger='current', level=logging.WARNING)
    return torch.tensor([
        math.inf if per_class[name] is None else per_class[name]
        for name in classes
    ], dtype=torch.float64)


def apply_lrp_thresholds(pred_instances: InstanceData,
                         thresholds: torch.Tensor) -> InstanceData:
    """Keep the detections whose score >= the threshold of their class.

    Args:
        pred_instances: Detections with ``scores`` and ``labels``.
        thresholds: Threshold of each label, e.g. from
            :func:`thresholds_by_label`.

    Returns:
        The kept detections, in their order (all fields indexed alike).
    """
    labels = pred_instances.labels
    if labels.numel() and int(labels.max()) >= len(thresholds):
        raise ValueError(f'a detection has label {int(labels.max())} but '
                         f'there are thresholds for {len(thresholds)} '
                         'classes only')
    limits = thresholds.to(pred_instances.scores.device)[labels]
    return pred_instances[pred_instances.scores.double() >= limits]


@contextmanager
def thresholded_predictions(model: nn.Module,
                            thresholds: torch.Tensor) -> Iterator[None]:
    """Apply :func:`apply_lrp_thresholds` to every prediction of ``model``.

    A forward hook of the model, removed on exit, filters the
    ``pred_instances`` of each data sample the forward pass returns;
    outputs of the other modes (losses, raw tensors) pass unchanged.

    Args:
        model: The detector (or its mmengine wrapper).
        thresholds: Threshold of each label.
    """
    if is_model_wrapper(model):
        model = model.module

    def keep_above_thresholds(module: nn.Module, args: tuple, outputs):
        if not isinstance(outputs, list) or not all(
                hasattr(s, 'pred_instances') for s in outputs):
            return outputs
        for sample in outputs:
            sample.pred_instances = apply_lrp_thresholds(
                sample.pred_instances, thresholds)
        return outputs

    handle = model.register_forward_hook(keep_above_thresholds)
    try:
        yield
    finally:
        handle.remove()
