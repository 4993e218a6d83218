"""CIFAR-10 from the shared JPEG npz file."""
import mmcv
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmrank.datasets import CIFAR10Npz
from tests.conftest import shared_data


@pytest.fixture(scope='module')
def data_root():
    return str(shared_data('cifar10', 'cifar10_jpeg.npz').parent)


def test_subset_is_class_balanced_and_decoded(data_root):
    dataset = CIFAR10Npz(data_root=data_root, num_per_class=3)
    assert len(dataset) == 30
    assert dataset.metainfo['classes'][:2] == ('airplane', 'automobile')
    labels = [dataset.get_data_info(i)['gt_label'] for i in range(30)]
    assert np.bincount(labels).tolist() == [3] * 10
    info = dataset.get_data_info(0)
    assert info['img'].shape == (32, 32, 3) and info['img'].dtype == np.uint8
    assert 'jpeg' not in info
    # Same pixels, in RGB order, as OpenCV's decoder gives.
    with np.load(f'{data_root}/cifar10_jpeg.npz') as data:
        jpeg = data['train_jpeg'][data['train_offsets'][0]:
                                  data['train_offsets'][1]].tobytes()
    reference = mmcv.imfrombytes(jpeg, channel_order='rgb', backend='cv2')
    assert np.abs(info['img'].astype(int) - reference).mean() < 1


def test_pipeline_output(data_root):
    init_default_scope('mmpretrain')
    dataset = CIFAR10Npz(
        data_root=data_root,
        test_mode=True,
        num_per_class=1,
        pipeline=[dict(type='PackInputs')])
    sample = dataset[3]
    assert tuple(sample['inputs'].shape) == (3, 32, 32)
    assert int(sample['data_samples'].gt_label) == 3


def test_splits(data_root):
    with np.load(f'{data_root}/cifar10_jpeg.npz') as data:
        num_train, num_test = len(data['train_labels']), len(
            data['test_labels'])
    assert len(CIFAR10Npz(data_root=data_root)) == num_train
    test = CIFAR10Npz(data_root=data_root, test_mode=True)
    assert len(test) == num_test


def test_bad_arguments(tmp_path, data_root):
    with pytest.raises(ValueError, match='num_per_class'):
        CIFAR10Npz(data_root=data_root, num_per_class=0)
    with pytest.raises(FileNotFoundError, match='npz'):
        CIFAR10Npz(data_root=str(tmp_path))
