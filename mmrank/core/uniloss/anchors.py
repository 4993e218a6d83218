"""UniLoss anchors: their settings, bit-flip anchors and the IDW
interpolation over anchors (Liu, Wang and Deng, ECCV 2020, Sec. 3.3)."""
from dataclasses import dataclass
from typing import List

import torch
from torch import Tensor


@dataclass
class AnchorConfig:
    """Anchor sampling and relaxation settings (Sec. 3.3, Table 4).

    Args:
        num_good: Anchors made by flipping bits of the ground truth.
        num_nearby: Anchors made by flipping bits of the current binarised
            configuration.
        num_random: Uniformly random binary configurations ("bad" anchors).
        include_bases: Also use the ground truth and the current binarised
            configuration themselves as anchors.
        scale: Comparisons are relaxed as ``sigmoid(scale * c)`` (Eq. 3).
        eps: Squared distances at or below ``eps`` count as coincident: the
            interpolation then returns the coincident anchors' value.
    """
    num_good: int = 16
    num_nearby: int = 16
    num_random: int = 16
    include_bases: bool = True
    scale: float = 1.0
    eps: float = 1e-12

    def __post_init__(self) -> None:
        for name in ('num_good', 'num_nearby', 'num_random'):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f'{name} must be a non-negative int, '
                                 f'got {value!r}')
        if not (self.include_bases or self.num_good or self.num_nearby
                or self.num_random):
            raise ValueError('AnchorConfig needs at least one anchor')
        if self.scale <= 0:
            raise ValueError(f'scale must be positive, got {self.scale}')


@dataclass
class FlipAnchors:
    """Anchors given as sets of bits flipped from a base configuration.

    Attributes:
        index: Flat indices (into the ``rows x cols`` comparison matrix) of
            the flipped bits, unique within each anchor.
        anchor: Anchor id (``0 .. num - 1``) of each flipped bit.
        num: Number of anchors.
    """
    index: Tensor
    anchor: Tensor
    num: int

    @classmethod
    def from_lists(cls, indices: List[Tensor],
                   device: torch.device) -> 'FlipAnchors':
        """Build from one tensor of flat indices per anchor."""
        if not indices:
            empty = torch.zeros(0, dtype=torch.long, device=device)
            return cls(empty, empty, 0)
        anchor = torch.cat([
            torch.full_like(idx, i, dtype=torch.long)
            for i, idx in enumerate(indices)
        ])
        return cls(torch.cat(indices).long(), anchor, len(indices))


def idw_interpolate(values: Tensor, sq_dists: Tensor, eps: float) -> Tensor:
    """Inverse-distance-weighted interpolation (Eq. 4), power 1.

    Args:
        values: Metric values ``g(a_i)`` of the anchors, shape ``(t,)``.
        sq_dists: Squared Euclidean distances ``||u - a_i||^2``, ``(t,)``.
        eps: Squared distances ``<= eps`` mean ``u`` coincides with an
            anchor; the result is then that anchor's value (the mean of the
            coincident anchors' values) with zero gradient.

    Returns:
        Scalar ``g~(u)``.
    """
    coincident = sq_dists.detach() <= eps
    if bool(coincident.any()):
        return values[coincident].mean() + 0 * sq_dists.sum()
    inv = sq_dists.rsqrt()
    return (values * inv).sum() / inv.sum()


def flip_sq_dists(u_flip: Tensor, sign: Tensor, base_sq_dist: Tensor,
                  flips: FlipAnchors) -> Tensor:
    """Squared distances to anchors that flip bits of a base in O(k).

    ``||u - a||^2 = ||u - base||^2 + sum_{b flipped} (1 - 2 base_b)
    (1 - 2 u_b)``.

    Args:
        u_flip: Relaxed binaries at ``flips.index``.
        sign: ``1 - 2 base`` at ``flips.index``.
        base_sq_dist: ``||u - base||^2`` (scalar).
        flips: The flipped bits of each anchor.

    Returns:
        Tensor of shape ``(flips.num,)``.
    """
    correction = u_flip.new_zeros(flips.num).index_add(
        0, flips.anchor, sign * (1 - 2 * u_flip))
    return base_sq_dist + correction
