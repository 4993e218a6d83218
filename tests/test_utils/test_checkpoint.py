"""Weights-only checkpoint loading: what loads, what is refused, what runs."""
import builtins
import os
import os.path as osp
import pickle
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint
from torch import nn

from mmrank.utils import TRUST_ENV, UntrustedCheckpointError
from mmrank.utils.checkpoint import SAFE_GLOBALS, history_buffer_method

from ..conftest import repo_path


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        return out


class ToyDataset(torch.utils.data.Dataset):
    metainfo = dict(classes=('a', 'b'), palette=[(1, 2, 3), (4, 5, 6)])

    def __len__(self):
        return 4

    def __getitem__(self, index):
        gen = torch.Generator().manual_seed(index)
        return dict(inputs=torch.randn(2, generator=gen),
                    labels=torch.randn(1, generator=gen))


LOADER = dict(sampler=dict(type='DefaultSampler', shuffle=False),
              collate_fn=dict(type='default_collate'), batch_size=2,
              num_workers=0)


def toy_runner(work_dir, max_epochs: int, **kwargs) -> Runner:
    """A real mmengine run: optimizer, MultiStepLR, message hub, meta."""
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(LOADER, dataset=ToyDataset()),
        optim_wrapper=dict(
            optimizer=dict(type='AdamW', lr=0.01, betas=(0.9, 0.99))),
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        **kwargs)


class Payload:
    """Pickles as a call that creates ``marker``: code run by loading."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, 'w'))


@pytest.fixture(autouse=True)
def untrusted(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)


@pytest.fixture(scope='module')
def own_checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('toy_run')
    toy_runner(work_dir, 1).train()
    return str(work_dir / 'epoch_1.pth')


@pytest.fixture
def malicious(tmp_path):
    """A model-zoo-shaped checkpoint whose pickle writes a marker file."""
    marker = tmp_path / 'payload_ran'
    path = str(tmp_path / 'evil.pth')
    torch.save(
        dict(state_dict=ToyModel().state_dict(), meta=dict(epoch=1),
             extra=Payload(marker)), path)
    return path, marker


def test_own_checkpoint_needs_the_allow_list(own_checkpoint):
    with pytest.raises(pickle.UnpicklingError):  # torch's plain check
        torch.load(own_checkpoint, weights_only=True)
    process_wide = torch.serialization.get_safe_globals()
    checkpoint = _load_checkpoint(own_checkpoint)
    assert set(checkpoint) >= {'meta', 'state_dict', 'message_hub',
                               'optimizer', 'param_schedulers'}
    buffer = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.statistics('mean') == pytest.approx(
        buffer.data[0].mean())
    assert checkpoint['meta']['dataset_meta']['classes'] == ('a', 'b')
    # torch's process-wide allow-list is untouched after the load
    assert set(torch.serialization.get_safe_globals()) == set(process_wide)
    assert not set(SAFE_GLOBALS) & set(process_wide)


def test_resume_and_load_from_own_checkpoint(own_checkpoint, tmp_path):
    runner = toy_runner(tmp_path / 'resumed', 2, load_from=own_checkpoint,
                        resume=True)
    runner.train()
    assert runner.epoch == 2 and runner.iter == 4
    model = ToyModel()
    load_checkpoint(model, own_checkpoint)
    weights = _load_checkpoint(own_checkpoint)['state_dict']
    assert torch.equal(model.linear.weight, weights['linear.weight'])


@pytest.mark.parametrize('meta', [
    dict(mmdet_version='3.3.0', epoch=12, iter=87960, seed=0,
         dataset_meta=dict(classes=('a', 'b'), palette=[(1, 2, 3)]),
         time='20240101_000000', config='model = dict(...)'),
    dict(mmdet_version='2.25.0', CLASSES=('a', 'b'), env_info='sys.platform',
         epoch=np.int64(12), config='...', hook_msgs=dict(last_ckpt='x')),
], ids=['mmdet3', 'mmdet2'])
def test_model_zoo_style_checkpoint(tmp_path, meta):
    source = ToyModel()
    path = str(tmp_path / 'zoo.pth')
    torch.save(dict(meta=meta, state_dict=OrderedDict(source.state_dict())),
               path)
    model = ToyModel()
    checkpoint = load_checkpoint(model, path)
    assert checkpoint['meta']['epoch'] == 12
    assert torch.equal(model.linear.weight, source.linear.weight)


def assert_refused(err, path) -> None:
    message = str(err.value)
    assert path in message and '--trust-checkpoint' in message
    assert f'{TRUST_ENV}=1' in message
    assert 'io.open' in message  # what the file asked for (builtins.open)


def test_payload_does_not_run(malicious, tmp_path):
    path, marker = malicious
    with pytest.raises(UntrustedCheckpointError) as err:
        _load_checkpoint(path)
    assert_refused(err, path)
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint(ToyModel(), path)
    runner = toy_runner(tmp_path / 'resume', 1)
    with pytest.raises(UntrustedCheckpointError):
        runner.resume(path)
    assert not marker.exists()
    # The payload is real: full unpickling runs it.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_legacy_format_payload_does_not_run(tmp_path):
    marker = tmp_path / 'payload_ran'
    path = str(tmp_path / 'legacy.pth')
    torch.save(dict(state_dict=ToyModel().state_dict(), x=Payload(marker)),
               path, _use_new_zipfile_serialization=False)
    with pytest.raises(UntrustedCheckpointError, match='io.open'):
        _load_checkpoint(path)
    assert not marker.exists()


def test_trusted_checkpoint_is_fully_unpickled(malicious, monkeypatch):
    path, marker = malicious
    monkeypatch.setenv(TRUST_ENV, '1')
    checkpoint = _load_checkpoint(path)
    assert marker.exists() and 'state_dict' in checkpoint


class MethodPayload:
    """Pickles ``HistoryBuffer.update`` as ``getattr(HistoryBuffer, ...)``."""

    def __reduce__(self):
        return (HistoryBuffer.update, (HistoryBuffer(), 1.0))


def test_getattr_stand_in_resolves_only_the_statistics(tmp_path):
    assert history_buffer_method(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        history_buffer_method(HistoryBuffer, 'update')
    with pytest.raises(pickle.UnpicklingError):
        history_buffer_method(builtins, 'eval')
    path = str(tmp_path / 'method.pth')
    torch.save(dict(x=MethodPayload()), path)
    with pytest.raises(UntrustedCheckpointError, match='update'):
        _load_checkpoint(path)
    names = {name for _, name in SAFE_GLOBALS}
    assert 'builtins.getattr' in names and 'builtins.eval' not in names


def test_import_mmrank_keeps_torch_load_safe(malicious):
    path, marker = malicious
    code = f'''
import pickle, torch
import mmrank
from mmengine.runner.checkpoint import _load_checkpoint
from mmrank.utils import UntrustedCheckpointError
# only torch's own types (torch.distributed registers its tensor types)
for entry in torch.serialization.get_safe_globals():
    entry = entry[0] if isinstance(entry, tuple) else entry
    assert entry.__module__.startswith('torch.'), entry
try:
    torch.load({path!r})
except pickle.UnpicklingError:
    pass
else:
    raise AssertionError('torch.load ran the pickle')
try:
    _load_checkpoint({path!r})
except UntrustedCheckpointError:
    pass
else:
    raise AssertionError('mmengine ran the pickle')
print('SAFE')
'''
    env = {k: v for k, v in os.environ.items() if k != TRUST_ENV}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300, cwd=repo_path(), env=env)
    assert out.returncode == 0 and 'SAFE' in out.stdout, out.stderr[-3000:]
    assert not marker.exists()
    assert osp.isfile(path)
