"""FoveaBox head trained with a ranking loss."""
from typing import Dict, List

import torch
from mmdet.models.dense_heads import FoveaHead
from mmdet.utils import InstanceList, OptInstanceList
from torch import Tensor

from mmrank.models.utils import flatten_levels, positive_indices
from mmrank.registry import register
from .dense_ranking_mixin import DenseRankingMixin


def fovea_decode(points: Tensor, log_distances: Tensor,
                 base_lengths: Tensor) -> Tensor:
    """Boxes from FoveaBox's log-space distances, without clipping.

    FoveaBox predicts ``log((x - x1) / base_len)``, ``log((y - y1) /
    base_len)``, ``log((x2 - x) / base_len)`` and ``log((y2 - y) /
    base_len)`` at each point (x, y). Clipping to the image, as at test
    time, would stop the localisation gradient at the borders.

    Args:
        points: (P, 2) point coordinates.
        log_distances: (P, 4) predictions or targets.
        base_lengths: (P,) base edge length of each point's level.

    Returns:
        (P, 4) boxes, x1y1x2y2.
    """
    distances = log_distances.exp() * base_lengths[:, None]
    return torch.cat([points - distances[:, :2], points + distances[:, 2:]],
                     dim=1)


@register('mmdet')
class RankingFoveaHead(DenseRankingMixin, FoveaHead):
    """FoveaBox head with a batch-wide ranking loss.

    The ranking loss sees the decoded boxes of the positives (aLRP Loss:
    localisation errors from their GIoU); a loss that does not train the
    boxes (AP Loss) leaves them to the stock ``loss_bbox``.

    Args:
        *args, **kwargs: As ``FoveaHead``.
    """

    def batch_ranking_loss(
            self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
            batch_gt_instances: InstanceList, batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList) -> Dict[str, Tensor]:
        """Ranking loss over the whole batch (see ``FoveaHead``)."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        priors = self.prior_generator.grid_priors(
            featmap_sizes,
            dtype=bbox_preds[0].dtype,
            device=bbox_preds[0].device)
        num_imgs = cls_scores[0].size(0)
        # FoveaHead.get_targets orders the points level by level.
        labels, bbox_targets = self.get_targets(batch_gt_instances,
                                                featmap_sizes, priors)
        cls_scores = flatten_levels(
            cls_scores, self.cls_out_channels, image_major=False)
        bbox_preds = flatten_levels(bbox_preds, 4, image_major=False)
        points = torch.cat([p.repeat(num_imgs, 1) for p in priors])
        base_lengths = torch.cat([
            p.new_full((num_imgs * p.size(0), ), base_len)
            for p, base_len in zip(priors, self.base_edge_list)
        ])

        pos_inds = positive_indices(labels, None, self.num_classes)
        pos_points, pos_base = points[pos_inds], base_lengths[pos_inds]
        return self.ranking_loss(
            cls_scores, labels, None, pos_inds,
            fovea_decode(pos_points, bbox_preds[pos_inds], pos_base),
            fovea_decode(pos_points, bbox_targets[pos_inds], pos_base),
            lambda: self.loss_bbox(
                bbox_preds[pos_inds],
                bbox_targets[pos_inds],
                avg_factor=max(pos_inds.numel(), 1)))
