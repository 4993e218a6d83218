"""Applying class-wise LRP-optimal thresholds to detections."""
import json

import pytest
import torch
from mmengine.structures import InstanceData
from torch import nn

from mmrank.apis import (apply_lrp_thresholds, read_lrp_thresholds,
                         thresholded_predictions, thresholds_by_label)
from mmrank.evaluation.functional import ClassLRP, LRPSummary
from mmrank.evaluation.lrp_thresholds import thresholds_dict

CLASSES = ('cat', 'dog', 'bird')
FILE = {'cat': dict(threshold=0.5, oLRP=0.4, num_gt=3),
        'dog': dict(threshold=0.2, oLRP=0.6, num_gt=2),
        'bird': dict(threshold=None, oLRP=1.0, num_gt=1)}


def detections() -> InstanceData:
    return InstanceData(
        scores=torch.tensor([0.9, 0.5, 0.49, 0.2, 0.1, 0.99]),
        labels=torch.tensor([0, 0, 0, 1, 1, 2]),
        bboxes=torch.arange(24.).reshape(6, 4))


def test_keeps_exactly_the_scores_reaching_their_class_threshold(tmp_path):
    path = tmp_path / 'bbox_lrp_thresholds.json'
    path.write_text(json.dumps(FILE))
    thresholds = thresholds_by_label(str(path), CLASSES)
    assert thresholds.tolist() == [0.5, 0.2, float('inf')]
    kept = apply_lrp_thresholds(detections(), thresholds)
    assert kept.scores.tolist() == pytest.approx([0.9, 0.5, 0.2])
    assert kept.labels.tolist() == [0, 0, 1]
    assert kept.bboxes[:, 0].tolist() == [0., 4., 12.]  # fields alike


def test_reads_what_lrp_metric_writes():
    summary = LRPSummary.from_classes([
        ClassLRP(olrp=0.3, loc=0.1, fp=0.1, fn=0.1, threshold=0.07, num_gt=4),
        ClassLRP(olrp=1.0, fn=1.0, num_gt=2),  # no TP: no threshold
    ])
    written = json.loads(json.dumps(thresholds_dict(summary, ['cat', 'dog'])))
    assert read_lrp_thresholds(written) == {'cat': 0.07, 'dog': None}


@pytest.mark.parametrize('content,match', [
    ([], 'must map class names'),
    ({'cat': 0.5}, "class 'cat' needs"),
    ({'cat': dict(oLRP=0.3)}, "class 'cat' needs"),
    ({'cat': dict(threshold='0.5')}, "class 'cat' needs"),
    ({'cat': dict(threshold=float('nan'))}, "class 'cat' needs"),
])
def test_malformed_files_are_refused(content, match):
    with pytest.raises(ValueError, match=match):
        read_lrp_thresholds(content)


def test_classes_must_be_the_detectors():
    with pytest.raises(ValueError, match=r"no threshold for \['bird'\]"):
        thresholds_by_label({k: FILE[k] for k in ('cat', 'dog')}, CLASSES)
    with pytest.raises(ValueError, match=r"unknown classes \['fish'\]"):
        thresholds_by_label(dict(FILE, fish=dict(threshold=0.1)), CLASSES)


def test_label_beyond_the_thresholds_is_an_error():
    with pytest.raises(ValueError, match='label 2'):
        apply_lrp_thresholds(detections(), torch.tensor([0.1, 0.1]))


class Detector(nn.Module):
    """``test_step`` runs the forward pass, as mmengine's ``BaseModel``."""

    def forward(self, data):
        from mmdet.structures import DetDataSample
        sample = DetDataSample()
        sample.pred_instances = detections()
        return [sample]

    def test_step(self, data):
        return self(data)


def test_thresholded_test_step_is_restored():
    model = Detector()
    thresholds = thresholds_by_label(FILE, CLASSES)
    with thresholded_predictions(model, thresholds):
        assert len(model.test_step(None)[0].pred_instances) == 3
    assert len(model.test_step(None)[0].pred_instances) == 6
    assert 'test_step' not in vars(model)
