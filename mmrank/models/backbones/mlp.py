"""A fully connected backbone for flattened images (UniLoss's MNIST MLP)."""
from typing import Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmrank.registry import register


@register('mmpretrain')
class MLPNet(BaseModule):
    """Flatten the image, then ``Linear -> ReLU`` per hidden layer.

    UniLoss's MNIST AP experiment uses ``784-500-300`` followed by the
    classifier (``LinearClsHead`` with ``in_channels=300``).

    Args:
        in_features: Input size after flattening (784 for MNIST).
        hidden_features: Width of each hidden layer.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 in_features: int = 784,
                 hidden_features: Sequence[int] = (500, 300),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not hidden_features:
            raise ValueError('hidden_features must name at least one layer')
        layers = []
        for width in hidden_features:
            layers += [nn.Linear(in_features, width), nn.ReLU(inplace=True)]
            in_features = width
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Features of the last hidden layer, as a one-element tuple."""
        return (self.layers(x.flatten(1)), )
