"""Helpers of the ranking-head tests: detectors from configs, toy heads."""
import logging
from typing import Dict, List, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import Tensor, nn

from mmrank.models.losses import aLRPLoss
from mmrank.models.utils import RankingHeadMixin
from tests.conftest import repo_path

#: The CPU-sized configs of every ranking head, with the heads they train.
CPU_CONFIGS: Dict[str, Tuple[str, ...]] = {
    'alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py': ('bbox_head', ),
    'ap_loss/ap-loss_retinanet_r18_fpn_digits.py': ('bbox_head', ),
    'alrp_loss/alrp-loss_fovea_r18_fpn_digits.py': ('bbox_head', ),
    'ap_loss/ap-loss_fovea_r18_fpn_digits.py': ('bbox_head', ),
    'alrp_loss/alrp-loss_faster-rcnn_r18_fpn_digits.py':
    ('rpn_head', 'roi_head.bbox_head'),
    'rs_loss/rs-loss_atss_r18_fpn_digits.py': ('bbox_head', ),
    'rs_loss/rs-loss_faster-rcnn_r18_fpn_digits.py':
    ('rpn_head', 'roi_head.bbox_head'),
}


def load_config(name: str) -> Config:
    """Load ``configs/<name>`` (runs its ``custom_imports``)."""
    register_all_modules(init_default_scope=True)
    return Config.fromfile(repo_path('configs', name))


def build_detector(name: str, seed: int = 0) -> nn.Module:
    """Build the detector of ``configs/<name>`` with its weights initialised.

    Pretrained backbones are not loaded (no network in tests).
    """
    cfg = load_config(name)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter
    model.init_weights()
    logger.setLevel(level)
    return model


def demo_batch(model: nn.Module,
               num_items: List[int],
               size: int = 64,
               num_classes: int = 10,
               with_mask: bool = False) -> dict:
    """Random images with random boxes (and masks), through the data
    preprocessor."""
    packed = demo_mm_inputs(
        batch_size=len(num_items),
        image_shapes=(3, size, size),
        num_items=num_items,
        num_classes=num_classes,
        with_mask=with_mask)
    return model.data_preprocessor(packed, True)


def giou(pred: Tensor, target: Tensor) -> Tuple[Tensor, Tensor]:
    """IoU and GIoU of aligned x1y1x2y2 boxes, written out for the tests."""
    lt = torch.max(pred[:, :2], target[:, :2])
    rb = torch.min(pred[:, 2:], target[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    area_p = (pred[:, 2:] - pred[:, :2]).prod(dim=1)
    area_t = (target[:, 2:] - target[:, :2]).prod(dim=1)
    union = area_p + area_t - inter
    hull = (torch.max(pred[:, 2:], target[:, 2:]) -
            torch.min(pred[:, :2], target[:, :2])).prod(dim=1)
    iou = inter / union
    return iou, iou - (hull - union) / hull


class ToyHead(nn.Module):
    """A linear classifier and box regressor with aLRP Loss."""

    def __init__(self, num_classes: int = 3):
        super().__init__()
        self.num_classes = num_classes
        self.loss_cls = aLRPLoss()
        self.fc_cls = nn.Linear(8, num_classes)
        self.fc_reg = nn.Linear(8, 4)


class ToyRankingHead(RankingHeadMixin, ToyHead):
    """:class:`ToyHead` with the ranking machinery, for the engine tests.

    One ranking loss over random features; the predicted boxes are the
    ground truth shifted by the regression output.
    """

    def loss(self, feats: Tensor, labels: Tensor,
             gt_boxes: Tensor) -> Dict[str, Tensor]:
        pos_inds = torch.nonzero(labels < self.num_classes).view(-1)
        pred_boxes = gt_boxes[pos_inds] + self.fc_reg(feats[pos_inds])
        return self.ranking_loss(
            self.fc_cls(feats), labels, None, pos_inds, pred_boxes,
            gt_boxes[pos_inds])

    def feed_balance_terms(self, terms: Tensor) -> None:
        """Stand in for a :meth:`ranking_loss` that gave these terms."""
        self._balance_terms = terms
