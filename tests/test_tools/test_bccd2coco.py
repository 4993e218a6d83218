import json
import runpy

from pycocotools.coco import COCO

from ..conftest import repo_path, shared_data


def test_bccd_converter_on_real_data(tmp_path, capsys):
    voc_root = shared_data('bccd', 'BCCD')
    converter = runpy.run_path(
        repo_path('tools', 'dataset_converters', 'bccd2coco.py'))
    results = converter['convert_bccd'](str(voc_root), str(tmp_path))
    sizes = {s: len(r['images']) for s, r in results.items()}
    assert sizes == dict(train=205, val=87, test=72)
    boxes = sum(len(r['annotations']) for r in results.values())
    assert boxes == 4888 - 2  # the two degenerate boxes are dropped
    assert 'degenerate dropped' in capsys.readouterr().out
    for split in ('train', 'val', 'test'):
        coco = COCO(str(tmp_path / 'annotations' / f'{split}.json'))
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == \
            ['RBC', 'WBC', 'Platelets']
        for ann in coco.loadAnns(coco.getAnnIds()):
            img = coco.imgs[ann['image_id']]
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0 and x >= 0 and y >= 0
            assert x + w <= img['width'] and y + h <= img['height']
            assert (tmp_path / 'JPEGImages' / img['file_name']).exists()
    first = json.loads((tmp_path / 'annotations' / 'train.json').read_text())
    assert first['images'][0]['file_name'].endswith('.jpg')
