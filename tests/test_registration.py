"""``import mmrank`` registers its modules where stock configs look."""
import subprocess
import sys

import pytest
from mmengine.registry import MODELS as ROOT_MODELS

from mmrank.registry import register_missing


def test_missing_host_names_the_package():
    from mmdet.registry import MODELS
    register_missing('NoSuchHostLossForTest', 'mmfoo')
    try:
        with pytest.raises(ImportError, match="pip install 'mmfoo'"):
            MODELS.build(dict(type='NoSuchHostLossForTest'))
    finally:
        ROOT_MODELS._module_dict.pop('NoSuchHostLossForTest')


def test_detection_part_without_mmpose_and_mmpretrain():
    # Block the two optional hosts: mmrank still imports, registers the
    # detection modules, and names the missing package for the others.
    code = '''
import sys
for name in ('mmpose', 'mmpretrain'):
    sys.modules[name] = None
import mmrank
from mmdet.registry import MODELS
from mmengine.registry import MODELS as ROOT
assert MODELS.get('aLRPLoss') is not None
missing = [n for n, m in ROOT.module_dict.items()
           if getattr(m, '__name__', '') == 'missing']
assert missing, 'no placeholder was registered'
try:
    MODELS.build(dict(type=missing[0]))
except ImportError as err:
    assert 'pip install' in str(err) and ('mmpose' in str(err)
                                          or 'mmpretrain' in str(err)), err
else:
    raise AssertionError('building a module of a missing host succeeded')
print('OK', len(missing))
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0 and 'OK' in out.stdout, out.stderr[-3000:]


def test_core_imports_with_torch_alone():
    code = '''
import sys
for name in ('mmengine', 'mmcv', 'mmdet', 'mmpose', 'mmpretrain'):
    sys.modules[name] = None
import torch
from mmrank.core.ranking import alrp_loss
logits = torch.tensor([2.0, 1.0, 0.5], requires_grad=True)
cls, loc = alrp_loss(logits, torch.tensor([1, 0, 1]), torch.tensor([0.2, 0.4]))
cls.backward()
print('OK', float(cls))
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0 and 'OK' in out.stdout, out.stderr[-3000:]


def mmrank_types() -> set:
    """(host, registry, type) of every mmrank module in the host registries."""
    import importlib
    found = set()
    for host in ('mmdet', 'mmpose', 'mmpretrain'):
        registries = importlib.import_module(f'{host}.registry')
        for name in ('MODELS', 'HOOKS', 'METRICS', 'DATASETS', 'TRANSFORMS',
                     'TASK_UTILS', 'KEYPOINT_CODECS'):
            registry = getattr(registries, name, None)
            if registry is None:
                continue
            for key, module in registry.module_dict.items():
                where = getattr(module, '__module__', '')
                # host_compat's entries stand in for mmpretrain's own
                # multimodal models beside transformers >= 4.56.
                if where.startswith('mmrank.') and \
                        where != 'mmrank.utils.host_compat':
                    found.add((host, name, key))
    return found


RETINA = dict(num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
              anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                    scales_per_octave=1, ratios=[1.0],
                                    strides=[8, 16]),
              bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
              reg_decoded_bbox=True, loss_cls=dict(type='aLRPLoss'))
# Minimal arguments of every registered type; a new type must be added here.
BUILD_ARGS = {
    ('mmdet', 'MODELS', 'aLRPLoss'): {},
    ('mmdet', 'MODELS', 'APLoss'): {},
    ('mmdet', 'MODELS', 'RankSortLoss'): {},
    ('mmdet', 'MODELS', 'RankingStandardRoIHead'): {},
    ('mmdet', 'MODELS', 'RankingRetinaHead'): RETINA,
    ('mmdet', 'MODELS', 'RankingRPNHead'): dict(
        {k: v for k, v in RETINA.items() if k != 'stacked_convs'},
        num_classes=1, loss_cls=dict(type='aLRPLoss', tau=0.7)),
    ('mmdet', 'MODELS', 'RankingFoveaHead'): dict(
        num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
        strides=[8, 16], loss_cls=dict(type='aLRPLoss')),
    ('mmdet', 'MODELS', 'RankingShared2FCBBoxHead'): dict(
        num_classes=3, in_channels=8, fc_out_channels=16, roi_feat_size=7,
        reg_class_agnostic=False, reg_decoded_bbox=True,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
        loss_cls=dict(type='aLRPLoss')),
    ('mmdet', 'HOOKS', 'RankingAnalysisHook'): {},
    ('mmdet', 'HOOKS', 'SelfBalancingHook'): {},
    ('mmdet', 'HOOKS', 'LRPThresholdHook'): dict(
        thresholds={'a': dict(threshold=0.1), 'b': dict(threshold=None)}),
    ('mmdet', 'METRICS', 'LRPMetric'): {},
    ('mmpretrain', 'METRICS', 'LogOddsAveragePrecision'): {},
    ('mmpose', 'MODELS', 'AnchorHeatmapLoss'): {},
    ('mmpose', 'MODELS', 'UniLossPCKh'): {},
    ('mmpose', 'KEYPOINT_CODECS', 'SigmoidMSRAHeatmap'): dict(
        input_size=(48, 64), heatmap_size=(12, 16), sigma=2.0),
    ('mmpose', 'KEYPOINT_CODECS', 'RankingMSRAHeatmap'): dict(
        input_size=(48, 64), heatmap_size=(12, 16), sigma=2.0),
    ('mmpretrain', 'MODELS', 'CifarResNet'): dict(depth=20),
    ('mmpretrain', 'MODELS', 'MLPNet'): {},
    ('mmpretrain', 'MODELS', 'AnchorLoss'): {},
    ('mmpretrain', 'MODELS', 'UniLossAccuracy'): {},
    ('mmpretrain', 'MODELS', 'UniLossBinaryAP'): {},
    ('mmpretrain', 'HOOKS', 'LossWarmupHook'): {},
    ('mmpretrain', 'DATASETS', 'CIFAR10Npz'): None,  # needs the real file
    ('mmpretrain', 'DATASETS', 'MNIST5k'): dict(num_train_per_class=2),
    ('mmpretrain', 'TRANSFORMS', 'BinarizeLabel'): {},
}


def test_every_registered_type_is_listed():
    assert mmrank_types() == set(BUILD_ARGS)


@pytest.mark.parametrize('key', sorted(BUILD_ARGS), ids='/'.join)
def test_every_registered_type_builds(key):
    import importlib
    host, registry, name = key
    kwargs = BUILD_ARGS[key]
    if kwargs is None:
        from .conftest import shared_data
        kwargs = dict(data_root=str(shared_data('cifar10')),
                      num_per_class=1)
    from mmengine.registry import DefaultScope
    target = getattr(importlib.import_module(f'{host}.registry'), registry)
    with DefaultScope.overwrite_default_scope(host):
        module = target.build(dict(type=name, **kwargs))
    assert type(module).__name__ == name
