# The CPU FoveaBox with aLRP Loss and self-balancing instead of focal loss +
# Smooth L1.
_base_ = ['../../_base_/models/fovea_r18_fpn_cpu.py', './alrp-loss_heads.py']

model = dict(bbox_head=_base_.alrp_fovea_head)
custom_hooks = _base_.alrp_hooks
