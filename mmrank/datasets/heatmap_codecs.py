"""Heatmap codecs for heads trained with mmrank's heatmap losses.

mmpose's heatmap decoders take the maximum of each heatmap and mark a
keypoint invalid (-1) when that maximum is not positive. Two of our losses
make that check wrong:

* :class:`~mmrank.models.losses.AnchorHeatmapLoss` trains the logits of
  sigmoid heatmaps, so a maximum below probability 0.5 is a negative logit;
* :class:`~mmrank.models.losses.UniLossPCKh` only compares pixels of one
  heatmap with each other, so it leaves the level of a heatmap free and a
  well-placed maximum may have any sign.

The encoders are mmpose's ``MSRAHeatmap``.
"""
from typing import Tuple

import numpy as np
import torch
from mmpose.codecs import MSRAHeatmap

from mmrank.registry import register


@register('mmpose', 'KEYPOINT_CODECS')
class SigmoidMSRAHeatmap(MSRAHeatmap):
    """``MSRAHeatmap`` whose decoder reads heatmap logits (Anchor Loss).

    Args: as mmpose's ``MSRAHeatmap``.
    """

    def decode(self, encoded: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Decode keypoints from heatmap logits ``(K, H, W)``.

        Returns:
            ``(keypoints, scores)`` as ``MSRAHeatmap.decode`` on
            ``sigmoid(encoded)``; scores are probabilities in ``(0, 1)``.
        """
        probs = torch.from_numpy(np.ascontiguousarray(encoded)).sigmoid()
        return super().decode(probs.numpy())


@register('mmpose', 'KEYPOINT_CODECS')
class RankingMSRAHeatmap(MSRAHeatmap):
    """``MSRAHeatmap`` for heatmaps whose level is free (UniLoss PCKh).

    Each heatmap is shifted so that its maximum is 1 before mmpose's
    decoding (maximum, then the quarter-pixel shift towards the larger
    neighbour, which only depends on differences), so every keypoint is
    decoded at its heatmap's maximum whatever that maximum's sign.

    Args: as mmpose's ``MSRAHeatmap``.
    """

    def decode(self, encoded: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Decode keypoints from heatmaps ``(K, H, W)`` of any level.

        Returns:
            ``(keypoints, scores)``: the locations of ``MSRAHeatmap.decode``
            on the shifted heatmaps and, as scores, the heatmaps' maxima
            (comparable within a heatmap only: the loss fixes no level).
        """
        peak = encoded.max(axis=(1, 2), keepdims=True)
        keypoints, _ = super().decode(encoded - peak + 1)
        return keypoints, peak[None, :, 0, 0]
