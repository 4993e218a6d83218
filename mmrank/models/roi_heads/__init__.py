"""RoI heads trained with ranking losses (mmdet)."""
from .ranking_bbox_head import RankingShared2FCBBoxHead  # noqa: F401
