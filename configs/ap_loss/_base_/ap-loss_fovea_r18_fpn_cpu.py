# The CPU FoveaBox with AP Loss instead of focal loss (Smooth L1 stays).
_base_ = ['../../_base_/models/fovea_r18_fpn_cpu.py', './ap-loss_heads.py']

model = dict(bbox_head=_base_.ap_fovea_head)
custom_hooks = _base_.ap_hooks
