"""Tests of tools/analysis_tools/eval_lrp.py (saved results -> oLRP)."""
import importlib.util
import json
import os.path as osp
import pickle

import numpy as np
import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('pycocotools')
pytest.importorskip('mmengine')

TOOL = osp.join(
    osp.dirname(__file__), '..', '..', 'tools', 'analysis_tools',
    'eval_lrp.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('eval_lrp', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ann_file(tmp_path):
    # One class with three 10x10 objects (the hand-computed case of
    # test_functional_lrp: oLRP 0.775 at threshold 0.6), one class 'b'
    # whose only object is missed (oLRP 1).
    boxes = [[0, 0, 10, 10], [20, 0, 10, 10], [40, 0, 10, 10], [0, 50, 8, 8]]
    ann = dict(
        images=[dict(id=5, width=200, height=200)],
        categories=[dict(id=1, name='a'), dict(id=2, name='b')],
        annotations=[
            dict(id=i + 1, image_id=5, category_id=1 if i < 3 else 2,
                 bbox=b, area=b[2] * b[3], iscrowd=0,
                 segmentation=[[b[0], b[1], b[0] + b[2], b[1],
                                b[0] + b[2], b[1] + b[3], b[0], b[1] + b[3]]])
            for i, b in enumerate(boxes)
        ])
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(ann))
    return str(path)


DETS_XYWH = [[0, 0, 10, 8], [50, 50, 10, 10], [20, 0, 10, 6],
             [40, 0, 10, 5.5], [100, 100, 5, 5]]
SCORES = [0.9, 0.8, 0.7, 0.6, 0.5]


def test_coco_json_results(ann_file, tmp_path, capsys):
    results = [
        dict(image_id=5, category_id=1, bbox=b, score=s)
        for b, s in zip(DETS_XYWH, SCORES)
    ]
    res_file = tmp_path / 'res.bbox.json'
    res_file.write_text(json.dumps(results))
    out_dir = tmp_path / 'out'
    tool = load_tool()
    assert tool.main([
        ann_file, str(res_file), '--classwise', '--out-dir',
        str(out_dir), '--plot'
    ]) == 0
    printed = capsys.readouterr().out
    assert 'bbox_oLRP: 0.88' in printed  # (0.775 + 1) / 2, rounded
    thresholds = json.loads((out_dir / 'bbox_lrp_thresholds.json').read_text())
    assert thresholds['a']['threshold'] == pytest.approx(0.6)
    assert thresholds['b']['oLRP'] == 1.0
    assert thresholds['b']['threshold'] is None
    assert len(list((out_dir / 'bbox_lrp_plots').iterdir())) == 2


def test_test_py_pickle_results(ann_file, tmp_path):
    # tools/test.py --out writes data samples as dicts of CPU tensors.
    boxes = np.array(DETS_XYWH, dtype=np.float32)
    boxes[:, 2:] += boxes[:, :2]
    samples = [
        dict(img_id=5, ori_shape=(200, 200), img_path='x.jpg',
             pred_instances=dict(
                 bboxes=torch.from_numpy(boxes),
                 scores=torch.tensor(SCORES),
                 labels=torch.zeros(5, dtype=torch.int64)))
    ]
    pkl = tmp_path / 'results.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump(samples, f)
    tool = load_tool()
    values = tool.evaluate(tool.parse_args([ann_file, str(pkl)]))
    assert values['bbox_oLRP'] == pytest.approx(0.8875, abs=1e-3)
    assert values['bbox_oLRP_FN'] == pytest.approx(0.5)
    # Label 0 -> the first listed class in file order, here 'b': the boxes
    # are false positives of 'b' and class 'a' is not evaluated.
    values = tool.evaluate(
        tool.parse_args([ann_file, str(pkl), '--classes', 'b',
                         '--classwise']))
    assert values['bbox_oLRP'] == 1.0
    assert 'bbox_a_oLRP' not in values


def test_segm_pickle_with_rle_masks_equals_json_route(ann_file, tmp_path):
    # DumpDetResults stores masks as RLEs with bytes counts.
    from pycocotools import mask as mask_util
    masks = np.zeros((5, 200, 200), dtype=np.uint8)
    for mask, (x, y, w, h) in zip(masks, DETS_XYWH):
        mask[int(y):int(np.ceil(y + h)), int(x):int(x + w)] = 1
    rles = [mask_util.encode(np.asfortranarray(m[:, :, None]))[0]
            for m in masks]
    assert isinstance(rles[0]['counts'], bytes)
    boxes = np.array(DETS_XYWH, dtype=np.float32)
    boxes[:, 2:] += boxes[:, :2]
    sample = dict(img_id=5, ori_shape=(200, 200), pred_instances=dict(
        bboxes=torch.from_numpy(boxes), scores=torch.tensor(SCORES),
        labels=torch.zeros(5, dtype=torch.int64), masks=rles))
    pkl = tmp_path / 'segm.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump([sample], f)
    tool = load_tool()
    from_pkl = tool.evaluate(
        tool.parse_args([ann_file, str(pkl), '--metric', 'bbox', 'segm']))
    results = [
        dict(image_id=5, category_id=1, score=s,
             segmentation=dict(size=r['size'], counts=r['counts'].decode()))
        for s, r in zip(SCORES, rles)
    ]
    res_file = tmp_path / 'res.segm.json'
    res_file.write_text(json.dumps(results))
    from_json = tool.evaluate(
        tool.parse_args([ann_file, str(res_file), '--metric', 'segm']))
    assert from_pkl['segm_oLRP'] == from_json['segm_oLRP']
    assert 0.5 < from_pkl['segm_oLRP'] < 1
    assert from_pkl['bbox_oLRP'] == pytest.approx(0.8875, abs=1e-3)


def test_plot_needs_out_dir(ann_file):
    with pytest.raises(SystemExit):
        load_tool().parse_args([ann_file, 'x.json', '--plot'])
