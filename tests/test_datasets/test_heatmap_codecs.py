"""Decoding heatmaps of heads trained with Anchor Loss and UniLoss."""
import numpy as np
from mmpose.codecs import MSRAHeatmap
from mmpose.registry import KEYPOINT_CODECS

from mmrank.datasets import RankingMSRAHeatmap, SigmoidMSRAHeatmap

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


def test_ranking_codec_decodes_any_level_at_the_maximum():
    rng = np.random.default_rng(0)
    heatmaps = rng.normal(size=(3, 8, 8)).astype(np.float32)
    heatmaps[0] -= 50.  # every pixel negative
    heatmaps[1, 4, 3] = 10.  # a clear peak
    heatmaps[2] += 1e3
    codec = KEYPOINT_CODECS.build(dict(type='RankingMSRAHeatmap', **CFG))
    assert isinstance(codec, RankingMSRAHeatmap)
    keypoints, scores = codec.decode(heatmaps)
    np.testing.assert_allclose(scores[0], heatmaps.max(axis=(1, 2)))
    # Locations do not depend on each heatmap's level ...
    shifted, _ = codec.decode(heatmaps + np.array([7., -3., 0.],
                                                  np.float32)[:, None, None])
    np.testing.assert_allclose(shifted, keypoints, atol=1e-6)
    # ... and are mmpose's where mmpose decodes them (positive maxima).
    expected, _ = MSRAHeatmap(**CFG).decode(heatmaps)
    np.testing.assert_allclose(keypoints[0, 1:], expected[0, 1:], atol=1e-6)
    np.testing.assert_allclose(keypoints[0, 1], [3 * 2, 4 * 2], atol=0.5)
    # mmpose's own decoder loses the all-negative heatmap.
    assert (expected[0, 0] < 0).all() and (keypoints[0, 0] >= 0).all()
