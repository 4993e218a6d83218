"""Datasets and dataset generators."""
from .digits_detection import CLASSES as DIGIT_CLASSES
from .digits_detection import generate_digits_detection
from mmrank.registry import host_available, register_missing

if host_available('mmpretrain'):
    from .cifar10_npz import CIFAR10Npz  # noqa: F401
    from .mnist_5k import BinarizeLabel, MNIST5k  # noqa: F401
else:  # the classification datasets subclass mmpretrain's
    for _name, _registry in (('CIFAR10Npz', 'DATASETS'),
                             ('MNIST5k', 'DATASETS'),
                             ('BinarizeLabel', 'TRANSFORMS')):
        register_missing(_name, 'mmpretrain', _registry)
if host_available('mmpose'):
    from .heatmap_codecs import (  # noqa: F401
        RankingMSRAHeatmap, SigmoidMSRAHeatmap)
else:  # the codecs subclass mmpose's MSRAHeatmap
    for _name in ('RankingMSRAHeatmap', 'SigmoidMSRAHeatmap'):
        register_missing(_name, 'mmpose', 'KEYPOINT_CODECS')
