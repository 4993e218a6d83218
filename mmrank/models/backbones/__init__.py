"""Backbones used by the papers' experiments."""
from mmrank.registry import host_available, register_missing

from .mlp import MLPNet  # noqa: F401

if host_available('mmpretrain'):
    from .cifar_resnet import CifarResNet  # noqa: F401
else:  # CifarResNet subclasses mmpretrain's ResNet_CIFAR
    register_missing('CifarResNet', 'mmpretrain')
