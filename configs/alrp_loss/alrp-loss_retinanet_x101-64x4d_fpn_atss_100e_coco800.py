# aLRP paper, Table 6: aLRPLoss800 X-101 64x4d (published 47.2 / 47.8 AP).
_base_ = [
    './_base_/alrp-loss_retinanet_x101-64x4d_fpn_atss.py',
    './_base_/coco800_ssd-aug_100e.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)
