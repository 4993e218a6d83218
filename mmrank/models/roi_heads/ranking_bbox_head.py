"""Faster R-CNN RoI box head trained with a ranking loss."""
from typing import Dict, List, Optional

import torch
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmengine.config import ConfigDict
from torch import Tensor

from mmrank.models.utils import RankingHeadMixin, positive_indices
from mmrank.registry import register


@register('mmdet')
class RankingShared2FCBBoxHead(RankingHeadMixin, Shared2FCBBoxHead):
    """Shared2FC box head with a sigmoid classifier and a ranking loss.

    ``BBoxHead.loss`` already sees the RoIs of all images of the batch, so
    one ranking loss covers the batch. The ranking losses follow mmdet's
    ``custom_cls_channels`` contract: ``num_classes`` sigmoid logits, and
    scores with a zero background column at test time, so that
    ``multiclass_nms`` keeps every class. With aLRP or RS Loss, use
    class-specific boxes and ``reg_decoded_bbox=True``; the positive's box
    for its class is decoded for the GIoU.

    Args:
        *args, **kwargs: As ``Shared2FCBBoxHead``.
    """

    def loss_and_target(self,
                        cls_score: Tensor,
                        bbox_pred: Tensor,
                        rois: Tensor,
                        sampling_results: List[SamplingResult],
                        rcnn_train_cfg: ConfigDict,
                        concat: bool = True,
                        reduction_override: Optional[str] = None) -> dict:
        """``BBoxHead.loss_and_target`` after checking the positives'
        ground-truth labels (:meth:`check_class_labels`): a label equal to
        ``num_classes`` would otherwise make its RoIs background."""
        self.check_class_labels(
            torch.cat([res.pos_gt_labels for res in sampling_results]))
        return super().loss_and_target(cls_score, bbox_pred, rois,
                                       sampling_results, rcnn_train_cfg,
                                       concat, reduction_override)

    def loss(self,
             cls_score: Tensor,
             bbox_pred: Tensor,
             rois: Tensor,
             labels: Tensor,
             label_weights: Tensor,
             bbox_targets: Tensor,
             bbox_weights: Tensor,
             reduction_override: Optional[str] = None) -> Dict[str, Tensor]:
        """Ranking loss over all RoIs of the batch.

        Arguments as ``BBoxHead.loss``; ``bbox_weights`` and
        ``reduction_override`` are not used (every positive's box is
        trained; a ranking loss has no per-sample reduction).

        Returns:
            The ranking loss's components and the classifier accuracy
            ``acc``.
        """
        if reduction_override not in (None, 'mean'):
            raise ValueError('a ranking loss is batch-wide: '
                             f'reduction_override={reduction_override!r}')
        pos_inds = positive_indices(labels, label_weights, self.num_classes)
        encode_size = self.bbox_coder.encode_size
        bbox_pred = bbox_pred.view(bbox_pred.size(0), -1, encode_size)
        pos_columns = 0 if self.reg_class_agnostic else labels[pos_inds]
        losses = self.coder_ranking_loss(cls_score, labels, label_weights,
                                         pos_inds, rois[pos_inds, 1:],
                                         bbox_pred[pos_inds, pos_columns],
                                         bbox_targets[pos_inds])
        losses.update(self.loss_cls.get_accuracy(cls_score, labels))
        return losses
