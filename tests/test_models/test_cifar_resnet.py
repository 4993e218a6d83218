"""He et al.'s CIFAR ResNets (3 stages, 16/32/64 channels)."""
import pytest
import torch

from mmrank.models.backbones import CifarResNet


def count_blocks(model):
    return sum(len(getattr(model, name)) for name in model.res_layers)


@pytest.mark.parametrize('depth, params', [(20, 0.27e6), (56, 0.85e6),
                                           (110, 1.7e6)])
def test_depths_and_sizes(depth, params):
    model = CifarResNet(depth)
    assert count_blocks(model) == (depth - 2) // 2
    # 6n + 2 weighted layers: stem, 2 convs per block, (the fc in the head).
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)
             and m.kernel_size == (3, 3)]
    assert len(convs) == depth - 1
    num_params = sum(p.numel() for p in model.parameters())
    assert num_params == pytest.approx(params, rel=0.05)


def test_output_shape():
    model = CifarResNet(20, out_indices=(0, 1, 2))
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 32, 32),
                                              (2, 32, 16, 16),
                                              (2, 64, 8, 8)]


def test_registered_and_bad_depth():
    from mmpretrain.registry import MODELS
    assert MODELS.get('CifarResNet') is CifarResNet
    with pytest.raises(ValueError, match='depth'):
        CifarResNet(18)
