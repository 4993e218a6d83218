# The CPU RetinaNet with AP Loss + Smooth L1 instead of focal loss + L1.
_base_ = ['../../_base_/models/retinanet_r18_fpn_cpu.py', './ap-loss_heads.py']

model = dict(bbox_head=_base_.ap_retina_head)
custom_hooks = _base_.ap_hooks
