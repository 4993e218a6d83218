"""RoI heads trained with ranking losses (mmdet)."""
