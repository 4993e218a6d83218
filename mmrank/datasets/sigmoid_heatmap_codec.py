"""A heatmap codec for heads trained on sigmoid heatmaps (Anchor Loss).

With :class:`~mmrank.models.losses.AnchorHeatmapLoss` the head outputs the
logits of sigmoid heatmaps. mmpose's heatmap decoders take the maximum of
each heatmap and mark a keypoint invalid (-1) when that maximum is not
positive, which a logit below 0 (a probability below 0.5) would trigger. The
decoder here applies the sigmoid first, so keypoint locations and scores are
those of the probability maps; the encoder is mmpose's ``MSRAHeatmap``.
"""
from typing import Tuple

import numpy as np
import torch
from mmpose.codecs import MSRAHeatmap

from mmrank.registry import register


@register('mmpose', 'KEYPOINT_CODECS')
class SigmoidMSRAHeatmap(MSRAHeatmap):
    """``MSRAHeatmap`` whose decoder reads heatmap logits.

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
