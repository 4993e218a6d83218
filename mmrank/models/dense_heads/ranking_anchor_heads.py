"""Anchor-based dense heads trained with aLRP Loss or AP Loss.

* :class:`RankingRetinaHead`: RetinaNet head; MaxIoU or ATSS assignment.
* :class:`RankingRPNHead`: Faster R-CNN's RPN (aLRP Loss weighted by 0.2,
  positives at IoU 0.7, so ``tau=0.7`` in the loss).

The loss type selects the method: ``aLRPLoss`` trains classification and
localisation jointly (E_loc from the GIoU or IoU of the decoded boxes, so set
``reg_decoded_bbox=True``), ``APLoss`` trains classification and leaves the
boxes to the stock ``loss_bbox`` (the paper's AP Loss + Smooth L1 baseline).
"""
from typing import Dict, List, Optional

import torch
from mmdet.models.dense_heads import RetinaHead, RPNHead
from mmdet.models.task_modules.assigners import ATSSAssigner
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.structures.bbox import cat_boxes, get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor

from mmrank.models.utils import (RankingHeadMixin, flatten_levels,
                                 positive_indices)
from mmrank.registry import register


class AnchorRankingMixin(RankingHeadMixin):
    """Batch-wide ranking loss for subclasses of mmdet's ``AnchorHead``."""

    def loss_by_feat(
            self,
            cls_scores: List[Tensor],
            bbox_preds: List[Tensor],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList = None
    ) -> Dict[str, Tensor]:
        """One ranking loss over all levels, images and anchors.

        Arguments as ``AnchorHead.loss_by_feat``.

        Returns:
            ``loss_cls`` and ``loss_bbox``.
        """
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        anchor_list, valid_flag_list = self.get_anchors(
            featmap_sizes, batch_img_metas, device=cls_scores[0].device)
        self.num_level_anchors = [a.size(0) for a in anchor_list[0]]
        (labels_list, label_weights_list, bbox_targets_list, _,
         _) = self.get_targets(
             anchor_list,
             valid_flag_list,
             batch_gt_instances,
             batch_img_metas,
             batch_gt_instances_ignore=batch_gt_instances_ignore)
        # Per-level targets are (B, A_l, ...): concatenating the levels gives
        # the image-major order of ``flatten_levels``.
        labels = torch.cat(labels_list, dim=1).reshape(-1)
        label_weights = torch.cat(label_weights_list, dim=1).reshape(-1)
        bbox_targets = torch.cat(bbox_targets_list, dim=1)
        bbox_targets = bbox_targets.reshape(-1, bbox_targets.size(-1))
        anchors = get_box_tensor(
            cat_boxes([cat_boxes(levels) for levels in anchor_list]))
        cls_scores = flatten_levels(cls_scores, self.cls_out_channels)
        bbox_preds = flatten_levels(bbox_preds, self.bbox_coder.encode_size)

        pos_inds = positive_indices(labels, label_weights, self.num_classes)
        return self.coder_ranking_loss(cls_scores, labels, label_weights,
                                       pos_inds, anchors[pos_inds],
                                       bbox_preds[pos_inds],
                                       bbox_targets[pos_inds])


class _LevelAwareAssigner:
    """Adapter calling ``ATSSAssigner.assign`` with the per-level counts.

    ``AnchorHead._get_targets_single`` calls ``assigner.assign(pred,
    gt, gt_ignore)``; ATSS also needs the number of valid priors of each
    level, which the head sets in ``num_level_priors`` before each image.
    """

    def __init__(self, assigner: ATSSAssigner) -> None:
        self.assigner = assigner
        self.num_level_priors: Optional[List[int]] = None

    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None):
        return self.assigner.assign(pred_instances, self.num_level_priors,
                                    gt_instances, gt_instances_ignore)


@register('mmdet')
class RankingRetinaHead(AnchorRankingMixin, RetinaHead):
    """RetinaNet head trained with aLRP Loss or AP Loss.

    ``train_cfg.assigner`` may be ``MaxIoUAssigner`` (RetinaNet) or
    ``ATSSAssigner`` (the paper's "+ATSS": 2 square anchors per location,
    no centerness).

    Args:
        loc_weight: Initial self-balancing weight w_r of L_loc (aLRP Loss).
        *args, **kwargs: As ``RetinaHead``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.train_cfg and isinstance(self.assigner, ATSSAssigner):
            self.assigner = _LevelAwareAssigner(self.assigner)

    def _get_targets_single(self,
                            flat_anchors: Tensor,
                            valid_flags: Tensor,
                            gt_instances: InstanceData,
                            img_meta: dict,
                            gt_instances_ignore: Optional[InstanceData] = None,
                            unmap_outputs: bool = True) -> tuple:
        """``AnchorHead._get_targets_single``, with ATSS's level counts."""
        if isinstance(self.assigner, _LevelAwareAssigner):
            inside_flags = anchor_inside_flags(
                flat_anchors, valid_flags, img_meta['img_shape'][:2],
                self.train_cfg['allowed_border'])
            self.assigner.num_level_priors = [
                int(flags.sum())
                for flags in torch.split(inside_flags, self.num_level_anchors)
            ]
        return super()._get_targets_single(flat_anchors, valid_flags,
                                           gt_instances, img_meta,
                                           gt_instances_ignore, unmap_outputs)


@register('mmdet')
class RankingRPNHead(AnchorRankingMixin, RPNHead):
    """Faster R-CNN RPN head trained with aLRP Loss or AP Loss.

    Use ``loss_cls=dict(type='aLRPLoss', tau=0.7, loss_weight=0.2)`` for the
    paper's RPN and a ``PseudoSampler`` (no ``sampler`` in
    ``train_cfg.rpn``): the ranking loss uses every anchor.

    Args:
        loc_weight: Initial self-balancing weight w_r of L_loc (aLRP Loss).
        *args, **kwargs: As ``RPNHead``.
    """

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None
                     ) -> Dict[str, Tensor]:
        """Ranking loss over the whole batch, with RPN key names."""
        losses = super().loss_by_feat(cls_scores, bbox_preds,
                                      batch_gt_instances, batch_img_metas,
                                      batch_gt_instances_ignore)
        return dict(
            loss_rpn_cls=losses['loss_cls'], loss_rpn_bbox=losses['loss_bbox'])
