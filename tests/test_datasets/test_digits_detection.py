import filecmp

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from mmrank.datasets import generate_digits_detection
from mmrank.datasets.digits_detection import load_mnist_5k


def test_mnist_5k_is_real_digits():
    images, labels = load_mnist_5k()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert images.max() == 255 and images.mean() > 20


def test_deterministic_for_a_seed(tmp_path):
    a = generate_digits_detection(str(tmp_path / 'a'), 6, 3, seed=7)
    b = generate_digits_detection(str(tmp_path / 'b'), 6, 3, seed=7)
    c = generate_digits_detection(str(tmp_path / 'c'), 6, 3, seed=8)
    for split in ('train', 'val'):
        assert filecmp.cmp(a[split], b[split], shallow=False)
        assert not filecmp.cmp(a[split], c[split], shallow=False)
    assert filecmp.cmp(tmp_path / 'a/train/000004.png',
                       tmp_path / 'b/train/000004.png', shallow=False)


def test_boxes_inside_images_and_coco_loads(tiny_digits):
    for split, count in (('train', 16), ('val', 8)):
        coco = COCO(str(tiny_digits / 'annotations' / f'{split}.json'))
        assert len(coco.getImgIds()) == count
        assert sorted(c['name'] for c in coco.loadCats(coco.getCatIds())) \
            == [str(d) for d in range(10)]
        for img in coco.loadImgs(coco.getImgIds()):
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
            assert 1 <= len(anns) <= 6
            image = cv2.imread(
                str(tiny_digits / split / img['file_name']),
                cv2.IMREAD_GRAYSCALE)
            assert image.shape == (img['height'], img['width'])
            assert 128 <= min(image.shape) and max(image.shape) <= 256
            for ann in anns:
                x, y, w, h = ann['bbox']
                assert x >= 0 and y >= 0 and w > 0 and h > 0
                assert x + w <= img['width'] and y + h <= img['height']
                # the box holds the digit's bright ink
                crop = image[int(y):int(y + h), int(x):int(x + w)]
                assert crop.max() > 100


def test_train_and_val_use_disjoint_digit_images(tmp_path):
    # every pasted digit comes from its split's pool: check via the pools
    from mmrank.datasets.digits_detection import split_digits
    _, labels = load_mnist_5k()
    pools = split_digits(labels, 0.2, np.random.default_rng(0))
    assert not set(pools['train']) & set(pools['val'])
    assert len(pools['val']) == 1000 and len(pools['train']) == 4000


@pytest.mark.parametrize('name', ['num_train', 'num_val'])
def test_bad_counts_raise(tmp_path, name):
    kwargs = dict(num_train=2, num_val=2)
    kwargs[name] = 0
    with pytest.raises(ValueError, match=name):
        generate_digits_detection(str(tmp_path), **kwargs)
