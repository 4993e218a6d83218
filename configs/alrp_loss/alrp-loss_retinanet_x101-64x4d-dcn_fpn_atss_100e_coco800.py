# aLRP paper, Table 6: aLRPLoss800 X-101 64x4d with deformable convolutions
# in stages 3-5 (published 48.6 / 48.9 AP).
_base_ = './alrp-loss_retinanet_x101-64x4d_fpn_atss_100e_coco800.py'
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
