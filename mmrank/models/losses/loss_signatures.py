"""The call signatures of mmpretrain's and mmpose's losses, shared by the
Anchor Loss and UniLoss modules, which implement the computation."""
from typing import Optional

from torch import Tensor, nn


class ClsLossSignature(nn.Module):
    """The call signature of mmpretrain's ``CrossEntropyLoss``, as
    ``ClsHead._get_loss`` uses it; subclasses implement :meth:`cls_loss`."""

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """Compute the loss (mmpretrain ``CrossEntropyLoss`` signature).

        Args:
            cls_score: Class scores ``(N, C)``.
            label: Class indices ``(N,)`` or one-hot targets ``(N, C)``.
            weight: Optional per-sample weights ``(N,)``.
            avg_factor: Divisor of the summed loss (``LinearClsHead`` passes
                the batch size).
            reduction_override: Overrides ``reduction`` for this call.
            **kwargs: Ignored, as by mmpretrain's losses.

        Returns:
            The weighted loss (:meth:`cls_loss`).
        """
        return self.cls_loss(cls_score, label, weight, avg_factor,
                             reduction_override)

    def cls_loss(self, cls_score: Tensor, label: Tensor,
                 weight: Optional[Tensor], avg_factor: Optional[float],
                 reduction_override: Optional[str]) -> Tensor:
        """The weighted loss (arguments as :meth:`forward`)."""
        raise NotImplementedError


class HeatmapLossSignature(nn.Module):
    """The call signature of mmpose's ``KeypointMSELoss``; subclasses
    implement :meth:`heatmap_loss`."""

    def forward(self,
                output: Tensor,
                target: Tensor,
                target_weights: Optional[Tensor] = None,
                mask: Optional[Tensor] = None) -> Tensor:
        """Compute the loss (mmpose ``KeypointMSELoss`` signature).

        Args:
            output: Predicted heatmaps ``(N, K, H, W)``.
            target: Target heatmaps ``(N, K, H, W)``.
            target_weights: Keypoint weights ``(N, K)``, used when the
                loss's ``use_target_weight`` is True.
            mask: Optional pixel mask broadcastable to ``output``.

        Returns:
            The weighted loss (:meth:`heatmap_loss`).
        """
        return self.heatmap_loss(output, target, target_weights, mask)

    def heatmap_loss(self, output: Tensor, target: Tensor,
                     target_weights: Optional[Tensor],
                     mask: Optional[Tensor]) -> Tensor:
        """The weighted loss (arguments as :meth:`forward`)."""
        raise NotImplementedError
