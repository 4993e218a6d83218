"""oLRP per class against the authors' LRP-Error evaluator on real detections.

Expected values: the authors' evaluator (github.com/kemaloksuz/LRP-Error at
commit ec408f3, its modified ``pycocotools/cocoeval.py`` and ``coco.py``,
run outside this repository with the installed ``pycocotools.mask``;
``COCOeval(gt, gt.loadRes(dets), 'bbox')``, ``evaluate()``,
``accumulate()``, then ``eval[key][:, 0, -1]`` for ``key`` in ``olrp``,
``olrp_loc``, ``olrp_fp``, ``olrp_fn``, ``lrp_opt_thr``: area 'all',
maxDets 100, τ = 0.5). Only the figures are kept here; their code is not.

Predictions (``data/bccd_test_preds.npz``, committed, sha256 below):
RetinaNet R-18 with focal loss, ``configs/alrp_loss/retinanet_r18_fpn_bccd.py``
as shipped (seed 0) but 4 epochs, trained with ``OMP_NUM_THREADS=1 python
tools/train.py configs/alrp_loss/retinanet_r18_fpn_bccd.py --cfg-options
train_cfg.max_epochs=4`` on BCCD converted by
``tools/dataset_converters/bccd2coco.py`` (data roots pointed at the
conversion), tested with ``tools/test.py ... epoch_4.pth --cfg-options
test_evaluator.0.outfile_prefix=preds`` on the BCCD test split (72 images;
COCO AP 0.181 before the cut); then the 25 top-scoring detections of each
image were kept and stored as float32 (image_id, category_id, xywh box,
score). Both
evaluators read the same values from this file. No two scores of a class
tie, so the tie conventions of the two evaluators cannot differ here. No
Platelets detection is among the kept ones: that class checks the
no-true-positive convention (oLRP = oLRP_FN = 1, the rest undefined).

The ground truth is BCCD's test split, converted from ``../shared/data``
(skipped when absent).
"""
import hashlib
import json
import math
import runpy
from pathlib import Path

import numpy as np
import pytest

from ..conftest import load_tool, repo_path, shared_data

PREDICTIONS = Path(__file__).parent / 'data' / 'bccd_test_preds.npz'
SHA256 = '7aaaccf86195c683bd1dc23bdcdaba9f791ecd0796ffc33835677b8c9d960fd7'
NAN = float('nan')
#: class: (oLRP, oLRP_loc, oLRP_FP, oLRP_FN, LRP-optimal threshold), as the
#: authors' evaluator printed them (``repr`` of the float64 values).
AUTHORS = {
    'RBC': (0.8779530718033006, 0.2982388509527181, 0.625948406676783,
            0.3875776397515528, 0.3242058753967285),
    'WBC': (0.6524734211012506, 0.2300463181768643, 0.2222222222222222,
            0.2112676056338028, 0.32560425996780396),
    'Platelets': (1.0, NAN, NAN, 1.0, NAN),
}
#: Their summary (means over classes), printed to 3 decimals.
AUTHORS_MEANS = dict(oLRP=0.843, oLRP_loc=0.264, oLRP_FP=0.424,
                     oLRP_FN=0.533)


def test_predictions_file_is_the_one_evaluated():
    assert hashlib.sha256(PREDICTIONS.read_bytes()).hexdigest() == SHA256
    scores = np.load(PREDICTIONS)
    assert len(scores['score']) == 1800
    for c in (1, 2):  # no tied scores within a class
        s = scores['score'][scores['category_id'] == c]
        assert len(np.unique(s)) == len(s) > 0


def test_olrp_per_class_equals_the_authors_evaluator(tmp_path):
    voc_root = shared_data('bccd', 'BCCD')
    converter = runpy.run_path(
        repo_path('tools', 'dataset_converters', 'bccd2coco.py'))
    converter['convert_bccd'](str(voc_root), str(tmp_path / 'bccd'))
    ann = tmp_path / 'bccd' / 'annotations' / 'test.json'
    preds = np.load(PREDICTIONS)
    dets = [
        dict(image_id=int(i), category_id=int(c),
             bbox=[float(v) for v in box], score=float(s))
        for i, c, box, s in zip(preds['image_id'], preds['category_id'],
                                preds['bbox'], preds['score'])
    ]
    results = tmp_path / 'preds.bbox.json'
    results.write_text(json.dumps(dets))
    tool = load_tool('analysis_tools', 'eval_lrp.py')
    values = tool.evaluate(
        tool.parse_args([str(ann), str(results), '--classwise',
                         '--out-dir', str(tmp_path / 'out')]))
    per_class = json.loads(
        (tmp_path / 'out' / 'bbox_lrp_thresholds.json').read_text())
    assert set(per_class) == set(AUTHORS)
    keys = ('oLRP', 'oLRP_loc', 'oLRP_FP', 'oLRP_FN', 'threshold')
    for name, expected in AUTHORS.items():
        for key, want in zip(keys, expected):
            got = per_class[name][key]
            if math.isnan(want):
                assert got is None or math.isnan(got), (name, key, got)
            else:
                assert got == pytest.approx(want, rel=1e-12, abs=1e-15), \
                    (name, key)
    for key, want in AUTHORS_MEANS.items():
        assert values[f'bbox_{key}'] == pytest.approx(want, abs=5e-4)
