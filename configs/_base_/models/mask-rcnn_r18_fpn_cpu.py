# Mask R-CNN (cross-entropy + L1 + mask BCE) with a narrow ResNet-18 FPN
# trained from scratch, fewer proposals, and the CPU demo schedule; no
# dataset (set roi_head.bbox_head.num_classes and mask_head.num_classes).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../schedules/cpu_adamw_6e.py', './r18_fpn_narrow.py'
]

model = dict(
    _base_.r18_fpn_narrow,
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(in_channels=64, conv_out_channels=64)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300)),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))
