"""``loss_by_feat`` of the dense heads trained with a ranking loss."""
from typing import Dict, List

import torch
from mmdet.utils import InstanceList, OptInstanceList
from torch import Tensor

from mmrank.models.utils import RankingHeadMixin


class DenseRankingMixin(RankingHeadMixin):
    """One ranking loss over all levels, images and priors of a dense head.

    Subclasses gather the batch in :meth:`batch_ranking_loss`; heads that
    log their losses under other keys (the RPN) rename them in
    :meth:`name_losses`.
    """

    def loss_by_feat(
            self,
            cls_scores: List[Tensor],
            bbox_preds: List[Tensor],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList = None
    ) -> Dict[str, Tensor]:
        """One ranking loss over all levels, images and priors.

        Arguments as mmdet's ``AnchorHead.loss_by_feat``.

        Returns:
            The ranking loss's components (:meth:`ranking_loss`), named by
            :meth:`name_losses`.
        """
        self.check_class_labels(
            torch.cat([gt.labels for gt in batch_gt_instances]))
        return self.name_losses(
            self.batch_ranking_loss(cls_scores, bbox_preds,
                                    batch_gt_instances, batch_img_metas,
                                    batch_gt_instances_ignore))

    def batch_ranking_loss(
            self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
            batch_gt_instances: InstanceList, batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList) -> Dict[str, Tensor]:
        """The ranking loss of the batch (arguments as
        :meth:`loss_by_feat`, the class labels checked)."""
        raise NotImplementedError

    def name_losses(self, losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The keys under which the head reports its losses (as given)."""
        return losses
