"""RoI head of RS-Mask R-CNN: masks weighted and balanced like the boxes."""
from typing import Dict, List, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox2roi
from mmdet.structures.mask import mask_target
from mmdet.utils import InstanceList
from torch import Tensor

from mmrank.core.balancing import score_weights, value_balance
from mmrank.core.reduction import zero_loss
from mmrank.registry import register


@register('mmdet')
class RankingStandardRoIHead(StandardRoIHead):
    """``StandardRoIHead`` whose mask loss follows RS-Mask R-CNN.

    The box head is trained by its ranking loss (e.g. RankSortLoss over all
    proposals). The mask loss (``mask_head.loss_mask``, Dice in the RS
    paper) of at most ``max_masks_per_image`` positives per image (chosen at
    random, as the authors cap it) is weighted per positive by its largest
    sigmoid class score (detached), averaged over those weights, and
    multiplied by ``value / L_mask`` (detached) every iteration, where
    ``value`` is the value the box head's ranking loss names
    (:meth:`RankingLossProtocol.mask_balance_value`,
    its classification loss, e.g. L_rank + L_sort): the value-based
    balancing of the RS paper. The multiplier is logged as ``mask_weight``.

    Args:
        max_masks_per_image: Most positives per image in the mask loss.
        *args, **kwargs: As ``StandardRoIHead``.
    """

    def __init__(self, *args, max_masks_per_image: int = 200,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(max_masks_per_image, int) or \
                max_masks_per_image < 1:
            raise ValueError('max_masks_per_image must be a positive int, '
                             f'got {max_masks_per_image!r}')
        self.max_masks_per_image = max_masks_per_image

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: List[DetDataSample]) -> Dict[str, Tensor]:
        """``StandardRoIHead.loss`` with the mask loss of the class doc.

        Arguments and return value as ``StandardRoIHead.loss``.
        """
        batch_gt_instances, batch_gt_instances_ignore, _ = \
            unpack_gt_instances(batch_data_samples)
        sampling_results = []
        for i, rpn_results in enumerate(rpn_results_list):
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = self.bbox_assigner.assign(
                rpn_results, batch_gt_instances[i],
                batch_gt_instances_ignore[i])
            sampling_results.append(
                self.bbox_sampler.sample(
                    assign_result,
                    rpn_results,
                    batch_gt_instances[i],
                    feats=[lvl_feat[i][None] for lvl_feat in x]))
        bbox_results = self.bbox_loss(x, sampling_results)
        losses = dict(bbox_results['loss_bbox'])
        if self.with_mask:
            value = self.bbox_head.loss_cls.mask_balance_value(losses)
            losses.update(
                self.balanced_mask_loss(x, sampling_results,
                                        bbox_results['cls_score'],
                                        batch_gt_instances, value))
        return losses

    def balanced_mask_loss(self, x: Tuple[Tensor],
                           sampling_results: List[SamplingResult],
                           cls_score: Tensor, batch_gt_instances: InstanceList,
                           value: Tensor) -> Dict[str, Tensor]:
        """The weighted, value-balanced mask loss.

        Args:
            x: Multi-level features.
            sampling_results: Per image; its RoIs are its positives then its
                negatives, in the order of ``cls_score``'s rows.
            cls_score: Box head logits of all RoIs (num_rois, num_classes).
            batch_gt_instances: Ground truth with ``masks``.
            value: The box head's classification loss (scalar).

        Returns:
            ``loss_mask`` and ``mask_weight``.
        """
        kept, rows, start = [], [], 0
        for res in sampling_results:
            num_pos = res.pos_priors.size(0)
            keep = torch.randperm(
                num_pos, device=cls_score.device)[:self.max_masks_per_image]
            keep = keep.sort().values
            kept.append(keep)
            rows.append(start + keep)
            start += res.priors.size(0)
        pos_priors = [r.pos_priors[k] for r, k in zip(sampling_results, kept)]
        labels = torch.cat(
            [r.pos_gt_labels[k] for r, k in zip(sampling_results, kept)])
        targets = mask_target(
            pos_priors,
            [r.pos_assigned_gt_inds[k] for r, k in zip(sampling_results, kept)],
            [gt.masks for gt in batch_gt_instances], self.train_cfg)
        mask_preds = self._mask_forward(x, bbox2roi(pos_priors))['mask_preds']
        if not self.mask_head.class_agnostic:
            mask_preds = mask_preds[torch.arange(
                labels.numel(), device=labels.device), labels]
        else:
            mask_preds = mask_preds[:, 0]
        weights, total = score_weights(cls_score[torch.cat(rows)])
        if labels.numel() == 0:
            loss_mask = zero_loss(mask_preds)
        else:
            loss_mask = self.mask_head.loss_mask(
                mask_preds, targets, weight=weights, avg_factor=total)
        mask_weight = value_balance(value, loss_mask)
        return dict(loss_mask=mask_weight * loss_mask, mask_weight=mask_weight)
