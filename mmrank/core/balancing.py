"""Value-based task balancing of the RS paper (torch only)."""
from typing import Tuple

import torch
from torch import Tensor


def value_balance(ranking_loss: Tensor, loss: Tensor) -> Tensor:
    """The RS paper's task-balancing weight ``ranking_loss / loss``
    (detached; 0 when ``loss`` is 0, e.g. without positives)."""
    loss = loss.detach()
    return torch.where(loss > 0, ranking_loss.detach() / loss.clamp(
        min=torch.finfo(loss.dtype).tiny), torch.zeros_like(loss))


def score_weights(logits: Tensor) -> Tuple[Tensor, Tensor]:
    """Each positive's largest sigmoid class score (detached), the weight
    with which RS-ATSS and RS-R-CNN weigh its box and mask losses, and the
    weights' sum to average over (kept above 0 for no positives).

    Args:
        logits: Class logits of the positives (P, C).
    """
    weights = logits.detach().sigmoid().max(dim=1).values
    return weights, weights.sum().clamp(min=1e-12)
