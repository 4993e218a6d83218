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
