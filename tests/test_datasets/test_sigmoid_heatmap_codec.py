"""Decoding heatmap logits of sigmoid-trained heads."""
import numpy as np
from mmpose.codecs import MSRAHeatmap
from mmpose.registry import KEYPOINT_CODECS

from mmrank.datasets import SigmoidMSRAHeatmap

CFG = dict(input_size=(16, 16), heatmap_size=(8, 8), sigma=1)


def test_decodes_negative_logits_at_their_maximum():
    logits = np.full((2, 8, 8), -6., dtype=np.float32)
    logits[0, 2, 5] = -1.  # a maximum below probability 0.5
    logits[1, 6, 1] = 3.
    codec = KEYPOINT_CODECS.build(dict(type='SigmoidMSRAHeatmap', **CFG))
    assert isinstance(codec, SigmoidMSRAHeatmap)
    keypoints, scores = codec.decode(logits)
    np.testing.assert_allclose(scores[0], 1 / (1 + np.exp([1., -3.])),
                               rtol=1e-6)
    # Same locations as MSRAHeatmap on the probability maps.
    expected, _ = MSRAHeatmap(**CFG).decode(1 / (1 + np.exp(-logits)))
    np.testing.assert_allclose(keypoints, expected)
    # On raw logits mmpose's decoder marks the first keypoint invalid.
    raw, _ = MSRAHeatmap(**CFG).decode(logits)
    assert (raw[0, 0] < 0).all() and not (keypoints[0, 0] < 0).any()
