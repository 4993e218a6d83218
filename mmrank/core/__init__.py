"""Loss mathematics in plain torch: importable without mmcv or mmdet."""
from .anchor_loss import anchor_heatmap_loss, anchor_loss  # noqa: F401
from .ranking import alrp_loss, ap_loss, rank_sort_loss  # noqa: F401
from .uniloss import uniloss_accuracy, uniloss_pckh  # noqa: F401
from .uniloss import uniloss_average_precision  # noqa: F401
