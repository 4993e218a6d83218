# aLRP paper, Table 8: Faster R-CNN R-50 with aLRP Loss in the RPN (weight
# 0.2, positives at IoU 0.7 so E_loc = (1 - GIoU) / (2 (1 - 0.7))) and in a
# sigmoid RoI head without sampling, each self-balanced; lr 0.012
# (published 40.7 AP, 66.7 oLRP).
_base_ = [
    './faster-rcnn_r50_fpn_100e_coco512.py', './_base_/alrp-loss_heads.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(
    _base_.alrp_faster_rcnn,
    rpn_head=dict(
        _base_.alrp_faster_rcnn.rpn_head,
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2])))
custom_hooks = _base_.alrp_hooks
optim_wrapper = dict(optimizer=dict(lr=0.012))
