"""The CIFAR ResNets of He et al. (depth 6n + 2, three stages of 16/32/64).

mmpretrain's ``ResNet_CIFAR`` keeps the ImageNet ResNet's four stages of
64-512 channels (depths 18-152) and only changes the stem. The Anchor Loss
paper trains the original CIFAR ResNets (ResNet-20/56/110): three stages of
``n`` basic blocks with 16, 32 and 64 channels after a 3x3 stem of 16
channels. Shortcuts that change shape are 1x1 convolutions with BN
(option B of He et al.), as in mmpretrain's ``ResLayer``.
"""
from typing import Sequence

from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock

from mmrank.registry import register


@register('mmpretrain')
class CifarResNet(ResNet_CIFAR):
    """ResNet-{20, 32, 44, 56, 110} for 32x32 images.

    Args:
        depth: Network depth, ``6n + 2`` for ``n`` blocks per stage.
        stem_channels: Output channels of the 3x3 stem.
        base_channels: Channels of the first stage (doubled per stage).
        num_stages: Number of stages (3 in He et al.).
        strides: Stride of the first block of each stage.
        dilations: Dilation of each stage.
        out_indices: Stages whose outputs are returned.
        **kwargs: Other arguments of mmpretrain's ``ResNet``.
    """

    arch_settings = {
        depth: (BasicBlock, ((depth - 2) // 6, ) * 3)
        for depth in (20, 32, 44, 56, 110)
    }

    def __init__(self,
                 depth: int,
                 stem_channels: int = 16,
                 base_channels: int = 16,
                 num_stages: int = 3,
                 strides: Sequence[int] = (1, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1),
                 out_indices: Sequence[int] = (2, ),
                 **kwargs) -> None:
        if depth not in self.arch_settings:
            raise ValueError(f'depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth}')
        super().__init__(
            depth,
            stem_channels=stem_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            strides=strides,
            dilations=dilations,
            out_indices=out_indices,
            **kwargs)
