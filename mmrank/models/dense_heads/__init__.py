"""Dense detection heads trained with ranking losses (mmdet)."""
from .ranking_anchor_heads import RankingRetinaHead  # noqa: F401
from .ranking_anchor_heads import RankingRPNHead  # noqa: F401
from .ranking_fovea_head import RankingFoveaHead  # noqa: F401
