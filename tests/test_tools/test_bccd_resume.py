"""A BCCD config resumes exactly over an epoch boundary, and validating
every epoch leaves its training unchanged.

The aLRP RetinaNet BCCD config runs as shipped (its seed, its data-loading
worker restarted every epoch, its random flips, per-epoch validation) on
the real BCCD images from ``../shared/data/bccd`` (converted by
``tools/dataset_converters/bccd2coco.py``), cut to 8 training images (2
iterations an epoch at batch 4) and 4 validation images so that a run takes
seconds:

* 2 epochs at once, against 1 epoch then ``--resume`` to 2 in the same work
  dir: every logged training scalar and the validation metrics are equal
  exactly (``scalars.json`` keeps full precision);
* the same 2 epochs with validation switched off (``val_begin`` beyond
  the last epoch): the same training scalars, exactly.
"""
import json
import runpy
import sys
from pathlib import Path

import pytest

from mmrank.utils.run_logs import read_scalars

from ..conftest import repo_path, shared_data
from .test_determinism import check_two_epoch_run
from .test_train_test_tools import run

CONFIG = repo_path('configs', 'alrp_loss',
                   'alrp-loss_retinanet_r18_fpn_bccd.py')
NUM_TRAIN, NUM_VAL = 8, 4


def _subset(path: Path, num_images: int) -> None:
    """Keep the first ``num_images`` images of a COCO file (in place)."""
    coco = json.loads(path.read_text())
    coco['images'] = coco['images'][:num_images]
    kept = {img['id'] for img in coco['images']}
    coco['annotations'] = [
        a for a in coco['annotations'] if a['image_id'] in kept
    ]
    path.write_text(json.dumps(coco))


@pytest.fixture(scope='module')
def bccd_root(tmp_path_factory) -> Path:
    """BCCD converted to COCO, cut to a few images per split."""
    voc_root = shared_data('bccd', 'BCCD')
    root = tmp_path_factory.mktemp('bccd')
    converter = runpy.run_path(
        repo_path('tools', 'dataset_converters', 'bccd2coco.py'))
    converter['convert_bccd'](str(voc_root), str(root))
    _subset(root / 'annotations' / 'train.json', NUM_TRAIN)
    _subset(root / 'annotations' / 'val.json', NUM_VAL)
    return root


def train(work_dir: Path, root: Path, epochs: int, *extra: str,
          val_begin: int = 1) -> str:
    ann = f'{root}/annotations/val.json'
    return run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), *extra, '--cfg-options',
        f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_begin={val_begin}',
        f'train_dataloader.dataset.data_root={root}/',
        f'val_dataloader.dataset.data_root={root}/',
        *(f'val_evaluator.{i}.ann_file={ann}' for i in (0, 1)),
        # every detection is scored, so the validation metrics are not
        # those of an empty result after 8 iterations
        'model.test_cfg.score_thr=0.0',
        'default_hooks.logger.interval=1', 'custom_hooks.1.interval=1'
    ])


def test_bccd_config_resumes_exactly_and_validation_changes_nothing(
        tmp_path, bccd_root):
    log = train(tmp_path / 'whole', bccd_root, 2)
    whole = check_two_epoch_run(log, tmp_path / 'whole')
    assert whole.val['coco/bbox_mAP'][-1][1] > 0, whole.val

    # mmengine validates after the last epoch whatever val_interval is;
    # val_begin beyond it switches validation off.
    train(tmp_path / 'no_val', bccd_root, 2, val_begin=3)
    no_val = read_scalars(str(tmp_path / 'no_val'))
    assert not no_val.val, 'validation ran although switched off'
    assert no_val.train == whole.train, \
        'validating every epoch changed the training'

    train(tmp_path / 'resumed', bccd_root, 1)
    log = train(tmp_path / 'resumed', bccd_root, 2, '--resume')
    assert 'resumed epoch: 1, iter: 2' in log, log[-3000:]
    resumed = read_scalars(str(tmp_path / 'resumed'))
    assert resumed.train == whole.train, 'the resumed epoch differs'
    assert resumed.val == whole.val
