# Model only: the ATSS aLRP Loss RetinaNet on a ResNeXt-101 64x4d backbone.
_base_ = './alrp-loss_retinanet_r50_fpn_atss.py'

model = dict(
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=64,
        base_width=4,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))
