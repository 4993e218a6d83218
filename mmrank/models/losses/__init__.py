"""Registered loss modules (thin wrappers around mmrank.core)."""
from .ranking_loss_base import (PositiveBoxes, PositiveInput,  # noqa: F401
                                RankingLoss, RankingLossOutput)
from .ranking_losses import APLoss, aLRPLoss  # noqa: F401
from .rank_sort_loss import RankSortLoss  # noqa: F401
from .anchor_loss import AnchorHeatmapLoss, AnchorLoss  # noqa: F401
from .uniloss import UniLossAccuracy, UniLossBinaryAP  # noqa: F401
from .uniloss import UniLossPCKh  # noqa: F401
