"""A short real training and evaluation of the CPU pose config (Anchor Loss
on sigmoid heatmaps) on COCO person keypoints, with mmengine's Runner."""
import math

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmrank.models.losses import AnchorHeatmapLoss
from tests.conftest import repo_path, shared_data

CONFIG = ('configs/anchor_loss/tiny/'
          'td-hm_mobilenetv2-0.5_coco-mini-128x96_anchor-g2.py')


class LossRecorder(Hook):

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss_kpt'].detach()))


def test_pose_config_trains_and_evaluates(tmp_path):
    data_root = str(shared_data('coco_mini')) + '/'
    cfg = Config.fromfile(repo_path(CONFIG))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=2)
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.dataset.update(data_root=data_root, indices=8)
    cfg.val_dataloader.dataset.update(data_root=data_root, indices=4)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    assert isinstance(runner.model.head.loss_module, AnchorHeatmapLoss)
    recorder = LossRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert len(recorder.losses) == 2
    assert all(math.isfinite(v) and v > 0 for v in recorder.losses)
    metrics = runner.val_loop.run()
    assert 0 <= metrics['PCK'] <= 1
