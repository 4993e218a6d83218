# Fragment of the CPU demo detectors: a half-width ResNet-18 trained from
# scratch (no download) and a 64-channel FPN, used as
#   model = dict(_base_.r18_fpn_narrow, ...)
r18_fpn_narrow = dict(
    backbone=dict(depth=18, base_channels=32, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64))
