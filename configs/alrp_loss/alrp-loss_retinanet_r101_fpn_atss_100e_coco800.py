# aLRP paper, Table 6: aLRPLoss800 R-101 (published 45.4 / 45.9 AP).
_base_ = [
    './_base_/alrp-loss_retinanet_r101_fpn_atss.py',
    './_base_/coco800_ssd-aug_100e.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)
