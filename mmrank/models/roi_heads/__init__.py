"""RoI heads trained with ranking losses (mmdet)."""
from .ranking_bbox_head import RankingShared2FCBBoxHead  # noqa: F401
from .ranking_roi_head import RankingStandardRoIHead  # noqa: F401
