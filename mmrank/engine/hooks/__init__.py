"""mmengine hooks."""
from .loss_warmup_hook import LossWarmupHook  # noqa: F401
from .lrp_threshold_hook import LRPThresholdHook  # noqa: F401
from .ranking_analysis_hook import RankingAnalysisHook  # noqa: F401
from .self_balancing_hook import SelfBalancingHook  # noqa: F401
