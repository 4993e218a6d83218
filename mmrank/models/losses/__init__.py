"""Registered loss modules (thin wrappers around mmrank.core)."""
from ..ranking_protocol import (PositiveBoxes, PositiveInput,  # noqa: F401
                                RankingLossOutput)
from .ranking_loss_base import RankingLoss  # noqa: F401
from .ranking_losses import APLoss, aLRPLoss  # noqa: F401
from .rank_sort_loss import RankSortLoss  # noqa: F401
from .anchor_loss import AnchorHeatmapLoss, AnchorLoss  # noqa: F401
from .uniloss import UniLossAccuracy, UniLossBinaryAP  # noqa: F401
from .uniloss import UniLossPCKh  # noqa: F401
