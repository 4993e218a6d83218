"""Deployment of a detector at its class-wise LRP-optimal score thresholds.

``LRPMetric`` (and ``tools/analysis_tools/eval_lrp.py``) write
``bbox_lrp_thresholds.json``: for each class name, the score threshold at
which that class's LRP Error is lowest on the evaluated set::

    {"0": {"threshold": 0.071, "oLRP": 0.35, ..., "num_gt": 41}, ...}

Deploying the detector at these thresholds keeps a detection of class c
when its score >= threshold[c]. A class whose threshold is ``null`` (no true
positive in the evaluation, so every threshold is equally bad) keeps
nothing. The filtering wraps the model's ``test_step``, which mmengine's test
loop and mmdet's ``DetInferencer`` both call, so it works for any detector
whose predictions carry ``pred_instances`` with ``scores`` and ``labels``,
and the evaluator and the visualiser see the same detections.
"""
import json
import logging
import math
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from mmengine.structures import InstanceData
from torch import nn

ThresholdSource = Union[str, Dict[str, dict]]


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
                         '{"threshold": score, ...} entries, as LRPMetric '
                         'writes bbox_lrp_thresholds.json')
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
    """Apply :func:`apply_lrp_thresholds` to every ``model.test_step``.

    Args:
        model: The detector (or its mmengine wrapper).
        thresholds: Threshold of each label.
    """
    test_step = model.test_step

    def thresholded_test_step(data):
        samples = test_step(data)
        for sample in samples:
            sample.pred_instances = apply_lrp_thresholds(
                sample.pred_instances, thresholds)
        return samples

    model.test_step = thresholded_test_step
    try:
        yield
    finally:
        del model.test_step
