"""The tools' "did you mean" for unknown types and offline downloads."""
import subprocess
import sys
from urllib.error import URLError

import pytest
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmrank.utils.tool_errors import (UnknownTypeError, WeightsDownloadError,
                                      closest_type_names, explain_tool_errors)

from ..conftest import repo_path

RETINA = dict(type='RetinaHead', num_classes=3, in_channels=8,
              feat_channels=8, stacked_convs=1,
              anchor_generator=dict(type='AnchorGenerator',
                                    octave_base_scale=4, scales_per_octave=1,
                                    ratios=[1.0], strides=[8, 16]))


@pytest.mark.parametrize('scope,registry,typo,expected', [
    ('mmdet', 'model', 'aLRPLos', 'aLRPLoss'),
    ('mmdet', 'model', 'alrploss', 'aLRPLoss'),
    ('mmdet', 'model', 'RankingRetinaHaed', 'RankingRetinaHead'),
    ('mmdet', 'hook', 'SelfBalancingHok', 'SelfBalancingHook'),
    ('mmdet', 'metric', 'LRPMetrc', 'LRPMetric'),
    ('mmpose', 'model', 'UniLossPCK', 'UniLossPCKh'),
    ('mmpretrain', 'model', 'AnchorLos', 'AnchorLoss'),
])
def test_closest_names(scope, registry, typo, expected):
    assert closest_type_names(typo, registry, scope)[0] == expected


def test_other_scopes_are_suggested_with_their_prefix():
    # AnchorLoss lives in mmpretrain (and mmpose's AnchorHeatmapLoss):
    # from mmdet only the scoped spelling resolves.
    names = closest_type_names('AnchorLos', 'model', 'mmdet')
    assert 'mmpretrain.AnchorLoss' in names
    from mmdet.registry import MODELS
    assert MODELS.get('mmpretrain.AnchorLoss') is not None


def test_unknown_type_in_a_stock_head_gets_the_hint():
    from mmdet.registry import MODELS
    cfg = dict(RETINA, loss_cls=dict(type='aLRPLos'))
    with pytest.raises(UnknownTypeError) as err:
        with explain_tool_errors(), \
                DefaultScope.overwrite_default_scope('mmdet'):
            MODELS.build(cfg)
    message = str(err.value)
    assert message.startswith(
        "Unknown type 'aLRPLos' (mmdet::model registry): did you mean "
        "'aLRPLoss', "), message
    assert 'is not in the mmdet::model registry' in message  # mmengine's
    assert isinstance(err.value, KeyError)


def test_other_key_errors_pass_unchanged():
    with pytest.raises(KeyError) as err:
        with explain_tool_errors():
            raise KeyError('zzzz_nothing_like_this is not in the '
                           'mmdet::model registry. Please check')
    assert not isinstance(err.value, UnknownTypeError)
    with pytest.raises(KeyError) as err:
        with explain_tool_errors():
            {}['plain']
    assert not isinstance(err.value, UnknownTypeError)


def test_offline_pretrained_weights_say_what_to_do(monkeypatch):
    from mmdet.registry import MODELS
    monkeypatch.setenv('no_proxy', '*')  # the refusal must come from here
    original = CheckpointLoader.__dict__['load_checkpoint']
    url = 'http://127.0.0.1:9/resnet18.pth'  # the discard port: refused
    backbone = MODELS.build(
        dict(type='mmdet.ResNet', depth=18,
             init_cfg=dict(type='Pretrained', checkpoint=url)))
    with pytest.raises(WeightsDownloadError) as err:
        with explain_tool_errors():
            backbone.init_weights()
    message = str(err.value)
    assert url in message and 'model.backbone.init_cfg=None' in message
    assert isinstance(err.value.__cause__, URLError)
    assert CheckpointLoader.__dict__['load_checkpoint'] is original
    with pytest.raises(URLError):  # outside the tools: unchanged
        _load_checkpoint(url)


def test_train_tool_answers_a_typo(tmp_path):
    config = repo_path('configs', 'alrp_loss',
                       'alrp-loss_retinanet_r18_fpn_digits.py')
    out = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(tmp_path), '--cfg-options',
         'model.bbox_head.loss_cls.type=aLRPLos'],
        cwd=repo_path(), capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "Unknown type 'aLRPLos' (mmdet::model registry): did you mean " \
        "'aLRPLoss'" in out.stderr, out.stderr[-3000:]


def test_train_tool_names_the_setuptools_a_missing_pkg_resources_needs(
        tmp_path):
    """A fresh venv with setuptools >= 82 has no pkg_resources, which
    mmengine 0.10.7 imports to resolve the config's ``mmdet::`` base."""
    config = repo_path('configs', 'alrp_loss',
                       'alrp-loss_retinanet_r18_fpn_digits.py')
    code = ("import runpy, sys; sys.modules['pkg_resources'] = None; "
            f"sys.argv = ['train.py', {config!r}, '--work-dir', "
            f"{str(tmp_path)!r}]; "
            "runpy.run_path('tools/train.py', run_name='__main__')")
    out = subprocess.run([sys.executable, '-c', code], cwd=repo_path(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith('ModuleNotFoundError: No module named '
                           'pkg_resources'), out.stderr[-3000:]
    assert "pip install 'setuptools<82'" in last
