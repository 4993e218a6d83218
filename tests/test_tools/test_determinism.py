"""A shipped config reruns bit for bit, and a resumed run continues so.

The demo config (aLRP Loss + self-balancing on digits) is trained as
shipped (its own seed, data-loading worker and per-epoch validation) on the
tiny digits set: once for 2 epochs, and once for 1 epoch then resumed with
``--resume`` to 2 epochs in the same work dir. Every logged loss, the
self-balancing weight, the rank correlation and the validation metrics of
both runs must be equal exactly (``scalars.json`` keeps full precision).
"""
import sys

from mmrank.utils.run_logs import Scalars, read_scalars

from ..conftest import repo_path
from .test_train_test_tools import data_options, run

CONFIG = repo_path('configs', 'alrp_loss',
                   'alrp-loss_retinanet_r18_fpn_digits.py')


def train(work_dir, root, epochs: int, *extra: str) -> str:
    return run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), *extra, '--cfg-options',
        f'train_cfg.max_epochs={epochs}',
        # the analysis hook (it only reads) logs every iteration
        'custom_hooks.1.interval=1', *data_options(root, as_shipped=True)
    ])


def check_two_epoch_run(log: str, work_dir) -> Scalars:
    """The scalars of a shipped aLRP config's 2-epoch run of 2 iterations
    an epoch, validated each epoch, after checking that they are there."""
    assert 'seed: 0' in log, 'the shipped config fixes its seed'
    whole = read_scalars(str(work_dir))
    assert [s for s, _ in whole.train['loss']] == [1, 2, 3, 4]
    assert [s for s, _ in whole.val['lrp/bbox_oLRP']] == [1, 2]
    assert {'loss_cls', 'loss_bbox', 'bbox_head.loc_weight',
            'bbox_head.rank_corr'} <= set(whole.train)
    return whole


def first_epoch(curves: dict, last_iter: int) -> dict:
    return {k: [p for p in v if p[0] <= last_iter] for k, v in curves.items()}


def test_shipped_config_reruns_and_resumes_bit_identically(
        tmp_path, tiny_digits):
    log = train(tmp_path / 'whole', tiny_digits, 2)
    # 16 images at batch 8: 2 iterations an epoch, validated each epoch
    whole = check_two_epoch_run(log, tmp_path / 'whole')

    train(tmp_path / 'resumed', tiny_digits, 1)
    log = train(tmp_path / 'resumed', tiny_digits, 2, '--resume')
    assert 'resumed epoch: 1, iter: 2' in log, log[-3000:]
    resumed = read_scalars(str(tmp_path / 'resumed'))

    assert first_epoch(resumed.train, 2) == first_epoch(whole.train, 2), \
        'a rerun of the same config and seed logged other values'
    assert resumed.train == whole.train, 'the resumed epoch differs'
    assert resumed.val == whole.val
