# The CPU RetinaNet with aLRP Loss (E_loc = 1 - GIoU) and self-balancing
# instead of focal loss + L1; nothing else changes.
_base_ = [
    '../../_base_/models/retinanet_r18_fpn_cpu.py', './alrp-loss_heads.py'
]

model = dict(bbox_head=_base_.alrp_retina_head)
custom_hooks = _base_.alrp_hooks
