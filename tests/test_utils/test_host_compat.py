"""mmpretrain 1.2.0 beside a current transformers (mmrank.utils.host_compat).

The end-to-end tests need a real transformers >= 4.56 (the GPU machine's
image and its replica, tools/gpu_replica/, hold 5.17.0); elsewhere they skip
with the reason. They run in subprocesses: the guard acts on the first import
of mmpretrain in a process.
"""
import subprocess
import sys
import textwrap

import pytest

from mmrank.utils.host_compat import (FIRST_INCOMPATIBLE_TRANSFORMERS,
                                      _installed, multimodal_incompatible)

from ..conftest import repo_path


@pytest.mark.parametrize('mmpretrain,transformers,expected', [
    ('1.2.0', '5.17.0', True), ('1.2.0', '4.56.0', True),
    ('1.0.0rc8', '4.56.1', True), ('1.2.0', '4.55.4', False),
    ('1.2.0', '4.28.0', False), ('1.3.0', '5.17.0', False),
    (None, '5.17.0', False), ('1.2.0', None, False),
])
def test_which_versions_are_guarded(mmpretrain, transformers, expected):
    assert multimodal_incompatible(mmpretrain, transformers) is expected


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-W', 'ignore', '-c',
                           textwrap.dedent(code)],
                          cwd=repo_path(), capture_output=True, text=True,
                          timeout=300)


def current_transformers() -> None:
    """Skip unless a transformers that breaks mmpretrain 1.2.0 is there."""
    version = _installed('transformers')
    if version is None or not multimodal_incompatible(
            _installed('mmpretrain') or '', version):
        pytest.skip(
            f'needs mmpretrain <= 1.2 beside transformers >= '
            f'{".".join(map(str, FIRST_INCOMPATIBLE_TRANSFORMERS))} '
            f'(installed: {version}); the GPU replica has 5.17.0 '
            '(bash tools/gpu_replica/run_tests.sh)')


def test_this_environment_reproduces_the_failure():
    current_transformers()
    result = run_python('import mmpretrain.models')
    assert result.returncode != 0
    assert 'NoneType takes no arguments' in result.stderr, result.stderr


def test_detection_classification_and_pose_work():
    current_transformers()
    result = run_python("""
        import torch
        import mmrank  # noqa: F401
        import transformers
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        from mmdet.registry import MODELS as DET
        from mmdet.testing import demo_mm_inputs
        from mmpose.registry import MODELS as POSE
        from mmpretrain.registry import MODELS as CLS
        from mmpretrain.structures import DataSample

        assert int(transformers.__version__.split('.')[0]) >= 5 or \\
            tuple(map(int, transformers.__version__.split('.')[:2])) >= (4, 56)
        torch.manual_seed(0)
        # Detection: the aLRP RetinaNet config, one loss on demo inputs.
        cfg = Config.fromfile(
            'configs/alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py')
        init_default_scope('mmdet')
        detector = DET.build(cfg.model)
        data = detector.data_preprocessor(
            demo_mm_inputs(2, [[3, 128, 128]] * 2, num_classes=10), True)
        losses = detector.loss(data['inputs'], data['data_samples'])
        assert torch.isfinite(losses['loss_cls']), losses
        # Classification: a CIFAR ResNet with Anchor Loss.
        init_default_scope('mmpretrain')
        classifier = CLS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='CifarResNet', depth=20),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
                      loss=dict(type='AnchorLoss', gamma=0.5))))
        samples = [DataSample().set_gt_label(1), DataSample().set_gt_label(3)]
        loss = classifier.loss(torch.randn(2, 3, 32, 32), samples)['loss']
        loss.backward()
        assert torch.isfinite(loss)
        # Pose: Anchor Loss and UniLoss PCKh on heatmaps.
        init_default_scope('mmpose')
        heatmaps = torch.randn(2, 3, 16, 16, requires_grad=True)
        target = torch.rand(2, 3, 16, 16)
        for loss_cfg in (dict(type='AnchorHeatmapLoss'),
                         dict(type='UniLossPCKh')):
            value = POSE.build(loss_cfg)(heatmaps, target, torch.ones(2, 3))
            assert torch.isfinite(value), loss_cfg
        # mmpretrain's multimodal models say why they are missing.
        init_default_scope('mmpretrain')
        try:
            CLS.build(dict(type='BlipCaption'))
        except ImportError as err:
            assert 'transformers' in str(err) and '<4.56' in str(err), err
        else:
            raise AssertionError('BlipCaption was built')
        print('all hosts work beside transformers', transformers.__version__)
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'all hosts work' in result.stdout
