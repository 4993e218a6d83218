# Model only: the ATSS aLRP Loss RetinaNet on a ResNet-101 backbone.
_base_ = './alrp-loss_retinanet_r50_fpn_atss.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
