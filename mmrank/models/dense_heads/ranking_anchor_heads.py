"""Anchor-based dense heads trained with a ranking loss.

* :class:`RankingRetinaHead`: RetinaNet head; MaxIoU or ATSS assignment
  (with ATSS and no centerness branch it is the paper's "+ATSS" head, and
  RS-ATSS with Rank & Sort Loss).
* :class:`RankingRPNHead`: Faster R-CNN's RPN (aLRP or RS Loss weighted by
  0.2, positives at IoU 0.7, so ``tau=0.7`` in aLRP Loss).

The loss selects the method (:mod:`mmrank.models.losses`): aLRP Loss and
RS Loss train classification and localisation jointly from the decoded
boxes (set ``reg_decoded_bbox=True``); AP Loss trains classification and
leaves the boxes to the stock ``loss_bbox``.
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.dense_heads import ATSSHead, RetinaHead, RPNHead
from mmdet.models.task_modules.assigners import ATSSAssigner
from mmdet.models.utils import multi_apply
from mmdet.structures.bbox import cat_boxes, get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor

from mmrank.models.utils import flatten_levels, positive_indices
from mmrank.registry import register
from .dense_ranking_mixin import DenseRankingMixin


class AnchorRankingMixin(DenseRankingMixin):
    """Batch-wide ranking loss for subclasses of mmdet's ``AnchorHead``.

    Targets are computed per image as ``AnchorHead._get_targets_single``
    does, or, with an ``ATSSAssigner``, as ``ATSSHead._get_targets_single``
    does, which takes the number of anchors of each level as an argument.
    """

    get_num_level_anchors_inside = ATSSHead.get_num_level_anchors_inside

    def batch_ranking_loss(
            self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
            batch_gt_instances: InstanceList, batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList) -> Dict[str, Tensor]:
        """One ranking loss over all levels, images and anchors (arguments
        as ``AnchorHead.loss_by_feat``)."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        anchor_list, valid_flag_list = self.get_anchors(
            featmap_sizes, batch_img_metas, device=cls_scores[0].device)
        labels, label_weights, bbox_targets = self.batch_targets(
            anchor_list, valid_flag_list, batch_gt_instances,
            batch_img_metas, batch_gt_instances_ignore)
        anchors = get_box_tensor(
            cat_boxes([cat_boxes(levels) for levels in anchor_list]))
        cls_scores = flatten_levels(cls_scores, self.cls_out_channels)
        bbox_preds = flatten_levels(bbox_preds, self.bbox_coder.encode_size)

        pos_inds = positive_indices(labels, label_weights, self.num_classes)
        return self.coder_ranking_loss(cls_scores, labels, label_weights,
                                       pos_inds, anchors[pos_inds],
                                       bbox_preds[pos_inds],
                                       bbox_targets[pos_inds])

    def batch_targets(
        self,
        anchor_list: List[List[Tensor]],
        valid_flag_list: List[List[Tensor]],
        batch_gt_instances: InstanceList,
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: OptInstanceList = None
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Labels, label weights and box targets of the whole batch.

        Args:
            anchor_list, valid_flag_list: Per image, per level (from
                ``get_anchors``).
            batch_gt_instances, batch_img_metas, batch_gt_instances_ignore:
                As ``AnchorHead.get_targets``.

        Returns:
            Tensors of shape (B * A,), (B * A,) and (B * A, box size),
            image-major (the order of ``flatten_levels``).
        """
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        if batch_gt_instances_ignore is None:
            batch_gt_instances_ignore = [None] * len(batch_img_metas)
        labels, label_weights, bbox_targets = multi_apply(
            self._get_targets_single,
            [cat_boxes(levels) for levels in anchor_list],
            [torch.cat(flags) for flags in valid_flag_list],
            batch_gt_instances,
            batch_img_metas,
            batch_gt_instances_ignore,
            num_level_anchors=num_level_anchors)[:3]
        return (torch.cat(labels), torch.cat(label_weights),
                torch.cat(bbox_targets))

    def _get_targets_single(self,
                            flat_anchors: Tensor,
                            valid_flags: Tensor,
                            gt_instances: InstanceData,
                            img_meta: dict,
                            gt_instances_ignore: Optional[InstanceData] = None,
                            unmap_outputs: bool = True,
                            num_level_anchors: Optional[List[int]] = None
                            ) -> tuple:
        """``AnchorHead._get_targets_single``, or ATSS's with the level
        counts ``num_level_anchors`` when the assigner is ATSS."""
        if isinstance(self.assigner, ATSSAssigner):
            if num_level_anchors is None:
                raise ValueError('ATSS assignment needs num_level_anchors')
            return ATSSHead._get_targets_single(
                self, flat_anchors, valid_flags, num_level_anchors,
                gt_instances, img_meta, gt_instances_ignore,
                unmap_outputs)[1:]
        return super()._get_targets_single(flat_anchors, valid_flags,
                                           gt_instances, img_meta,
                                           gt_instances_ignore, unmap_outputs)


@register('mmdet')
class RankingRetinaHead(AnchorRankingMixin, RetinaHead):
    """RetinaNet head trained with a ranking loss.

    ``train_cfg.assigner`` may be ``MaxIoUAssigner`` (RetinaNet) or
    ``ATSSAssigner`` (the paper's "+ATSS": 2 square anchors per location,
    no centerness; RS-ATSS with ``loss_cls=dict(type='RankSortLoss')``).

    Args:
        *args, **kwargs: As ``RetinaHead``.
    """


@register('mmdet')
class RankingRPNHead(AnchorRankingMixin, RPNHead):
    """Faster R-CNN RPN head trained with a ranking loss.

    Use ``loss_cls=dict(type='aLRPLoss', tau=0.7, loss_weight=0.2)`` or
    ``dict(type='RankSortLoss', loss_weight=0.2)`` for the papers' RPN and
    a ``PseudoSampler`` (no ``sampler`` in ``train_cfg.rpn``): the ranking
    loss uses every anchor.

    Args:
        *args, **kwargs: As ``RPNHead``.
    """

    def name_losses(self, losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """RPN key names (``loss_cls`` -> ``loss_rpn_cls``, ``box_weight``
        -> ``rpn_box_weight``), apart from the RoI head's."""
        return {
            key.replace('loss_', 'loss_rpn_', 1)
            if key.startswith('loss_') else f'rpn_{key}': value
            for key, value in losses.items()
        }
