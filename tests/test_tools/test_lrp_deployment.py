"""tools/test.py --lrp-thresholds and tools/image_demo.py on a tiny aLRP run.

The digits aLRP config is trained for one epoch (two iterations) on the tiny
generated set; its test predictions give per-class thresholds (the median
score of each class, one class without threshold) written in LRPMetric's
``bbox_lrp_thresholds.json`` format, and the tools must keep exactly the
detections whose score reaches their class's threshold.
"""
import glob
import json
import os.path as osp
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.fileio import load

from ..conftest import load_tool, repo_path
from .test_train_test_tools import data_options, run

CONFIG = repo_path('configs', 'alrp_loss',
                   'alrp-loss_retinanet_r18_fpn_digits.py')
NO_THRESHOLD = '9'  # this class gets "threshold": null: nothing is kept


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_digits):
    """(checkpoint, the thresholds json that validation wrote)."""
    work_dir = tmp_path_factory.mktemp('alrp_run')
    run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', *data_options(tiny_digits)
    ])
    written = glob.glob(str(work_dir / '*' / 'bbox_lrp_thresholds.json'))
    assert len(written) == 1, written
    return str(work_dir / 'epoch_1.pth'), written[0]


def run_test_tool(trained, tiny_digits, tmp_path, *extra) -> list:
    """Run tools/test.py on the checkpoint; returns the dumped predictions."""
    out = tmp_path / f'results{len(extra)}.pkl'
    run([
        sys.executable, 'tools/test.py', CONFIG, trained[0], '--work-dir',
        str(tmp_path / 'test'), '--out', str(out), *extra, '--cfg-options',
        *data_options(tiny_digits)
    ])
    return load(str(out))


def thresholds_json(template: str, scores: dict, path) -> dict:
    """LRPMetric's json with the median score of each class as threshold."""
    with open(template) as f:
        content = json.load(f)
    for name, entry in content.items():
        values = scores.get(int(name), [])
        entry['threshold'] = None if name == NO_THRESHOLD else (
            float(np.median(values)) if values else 0.5)
    path.write_text(json.dumps(content))
    return {int(k): v['threshold'] for k, v in content.items()}


def detections(labels, scores) -> list:
    """(label, score) of each detection, in order."""
    return [(int(label), float(score)) for label, score in zip(labels, scores)]


def kept(dets: list, thresholds: dict) -> list:
    """The detections at or above their class's threshold."""
    return [(label, score) for label, score in dets
            if thresholds[label] is not None and score >= thresholds[label]]


def dumped(results: list) -> list:
    """The detections of each image of a tools/test.py --out pickle."""
    preds = [r['pred_instances'] for r in results]
    return [detections(p['labels'], p['scores']) for p in preds]


def class_scores(images: list) -> dict:
    """Class -> the scores of its detections, over images."""
    scores = {}
    for dets in images:
        for label, score in dets:
            scores.setdefault(label, []).append(score)
    return scores


def test_test_tool_keeps_the_detections_above_their_thresholds(
        trained, tiny_digits, tmp_path):
    raw = dumped(run_test_tool(trained, tiny_digits, tmp_path))
    thresholds = thresholds_json(trained[1], class_scores(raw),
                                 tmp_path / 'thr.json')
    expected = [kept(dets, thresholds) for dets in raw]
    assert 0 < sum(map(len, expected)) < sum(map(len, raw))
    filtered = run_test_tool(trained, tiny_digits, tmp_path,
                             '--lrp-thresholds', str(tmp_path / 'thr.json'),
                             '--show-dir', 'vis')
    assert dumped(filtered) == expected
    assert glob.glob(str(tmp_path / 'test' / '*' / 'vis' / '*'))


def test_image_demo_draws_the_detections_above_their_thresholds(
        trained, tiny_digits, tmp_path, capsys):
    demo = load_tool('image_demo.py')
    image = sorted(glob.glob(str(tiny_digits / 'val' / '*')))[0]
    stem = osp.splitext(osp.basename(image))[0]
    common = [image, CONFIG, trained[0], '--device', 'cpu', '--cfg-options',
              'model.test_cfg.score_thr=0.0']
    demo.main(common + ['--out-dir', str(tmp_path / 'raw')])
    with open(tmp_path / 'raw' / 'preds' / f'{stem}.json') as f:
        raw = json.load(f)
    raw = detections(raw['labels'], raw['scores'])
    thresholds = thresholds_json(trained[1], class_scores([raw]),
                                 tmp_path / 'thr.json')
    expected = kept(raw, thresholds)
    assert 0 < len(expected) < len(raw)
    capsys.readouterr()

    demo.main(common + ['--out-dir', str(tmp_path / 'thr'),
                        '--lrp-thresholds', str(tmp_path / 'thr.json')])
    with open(tmp_path / 'thr' / 'preds' / f'{stem}.json') as f:
        got = json.load(f)
    assert detections(got['labels'], got['scores']) == expected
    assert osp.isfile(tmp_path / 'thr' / 'vis' / osp.basename(image))
    printed = capsys.readouterr().out
    assert f'drew {len(expected)} detections' in printed, printed
    assert printed.count(' score ') == len(expected)


def test_hook_draws_what_it_keeps_and_restores_the_visualiser():
    from mmdet.engine.hooks import DetVisualizationHook

    from mmrank.engine.hooks import LRPThresholdHook
    from tests.test_apis.test_lrp_thresholds import CLASSES, FILE, Detector
    visualisation = DetVisualizationHook(score_thr=0.3)
    runner = SimpleNamespace(
        model=Detector(), hooks=[visualisation],
        test_loop=SimpleNamespace(dataloader=SimpleNamespace(
            dataset=SimpleNamespace(metainfo=dict(classes=CLASSES)))))
    hook = LRPThresholdHook(thresholds=FILE)
    hook.before_test(runner)
    assert visualisation.score_thr == 0.0
    assert len(runner.model.test_step(None)[0].pred_instances) == 3
    hook.after_test(runner)
    assert visualisation.score_thr == 0.3
    assert len(runner.model.test_step(None)[0].pred_instances) == 6
