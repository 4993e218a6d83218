# The CPU Faster R-CNN with aLRP Loss in the RPN and in a sigmoid RoI head.
_base_ = [
    '../../_base_/models/faster-rcnn_r18_fpn_cpu.py', './alrp-loss_heads.py'
]

model = _base_.alrp_faster_rcnn
custom_hooks = _base_.alrp_hooks
