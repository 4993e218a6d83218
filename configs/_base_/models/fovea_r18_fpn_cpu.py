# FoveaBox (focal loss) with a narrow ResNet-18 FPN trained from scratch, and
# the CPU demo schedule; no dataset (set bbox_head.num_classes).
_base_ = [
    './fovea_r50_fpn.py', '../schedules/cpu_adamw_6e.py', './r18_fpn_narrow.py'
]

model = dict(
    _base_.r18_fpn_narrow,
    bbox_head=dict(in_channels=64, feat_channels=64, stacked_convs=2))
