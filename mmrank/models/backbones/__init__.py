"""Backbones used by the papers' experiments."""
from .mlp import MLPNet  # noqa: F401
from .cifar_resnet import CifarResNet  # noqa: F401
