"""Dense detection heads trained with ranking losses (mmdet)."""
