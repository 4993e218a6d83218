"""CIFAR-10 stored as JPEG bytes in one ``.npz`` file, for mmpretrain.

The file holds ``{train,test}_jpeg`` (all JPEG files concatenated),
``{train,test}_offsets`` (``N + 1`` byte offsets), ``{train,test}_labels``
and ``classes``. Images are decoded when a sample is fetched, so the dataset
keeps only the compressed bytes in memory.
"""
import io
import os.path as osp
from typing import List, Optional

import numpy as np
from mmpretrain.datasets import BaseDataset
from PIL import Image

from mmrank.registry import register


def decode_rgb(jpeg: bytes) -> np.ndarray:
    """Decode JPEG bytes to an ``(H, W, 3)`` uint8 RGB array."""
    with Image.open(io.BytesIO(jpeg)) as img:
        return np.asarray(img.convert('RGB'))


def first_per_class(labels: np.ndarray, num_per_class: int) -> np.ndarray:
    """Indices of the first ``num_per_class`` samples of every class."""
    keep = [
        np.flatnonzero(labels == c)[:num_per_class]
        for c in np.unique(labels)
    ]
    return np.sort(np.concatenate(keep))


@register('mmpretrain', 'DATASETS')
class CIFAR10Npz(BaseDataset):
    """CIFAR-10 from ``cifar10_jpeg.npz``; images are RGB as in mmpretrain's
    ``CIFAR10`` (so its pipelines and ``to_rgb=False`` apply unchanged).

    Args:
        data_root: Folder of the file.
        ann_file: The ``.npz`` file, relative to ``data_root``.
        test_mode: Use the test split (10,000 images) instead of the train
            split (50,000).
        num_per_class: If given, keep only the first ``num_per_class``
            images of each class (the file is sorted by class, so mmengine's
            ``indices`` would select a single class).
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``
            (``pipeline``, ``indices``...).
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'cifar10_jpeg.npz',
                 test_mode: bool = False,
                 num_per_class: Optional[int] = None,
                 **kwargs) -> None:
        if num_per_class is not None and num_per_class < 1:
            raise ValueError(
                f'num_per_class must be None or >= 1, got {num_per_class}')
        self.num_per_class = num_per_class
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            test_mode=test_mode,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the split's JPEG bytes and labels (no decoding)."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'CIFAR-10 npz file not found: {self.ann_file}')
        split = 'test' if self.test_mode else 'train'
        with np.load(self.ann_file) as data:
            jpeg = data[f'{split}_jpeg']
            offsets = data[f'{split}_offsets']
            labels = data[f'{split}_labels']
            if self._metainfo.get('classes') is None:
                self._metainfo['classes'] = tuple(data['classes'].tolist())
        indices = np.arange(len(labels))
        if self.num_per_class is not None:
            indices = first_per_class(labels, self.num_per_class)
        return [
            dict(
                jpeg=jpeg[offsets[i]:offsets[i + 1]].tobytes(),
                gt_label=int(labels[i])) for i in indices
        ]

    def get_data_info(self, idx: int) -> dict:
        """Return the sample's info with the decoded image under ``img``."""
        info = super().get_data_info(idx)
        info['img'] = decode_rgb(info.pop('jpeg'))
        return info
