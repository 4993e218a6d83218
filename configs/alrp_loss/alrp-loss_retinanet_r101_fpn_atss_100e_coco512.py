# aLRP paper, Table 6: aLRPLoss500 R-101 (published 42.2 / 42.8 AP).
_base_ = [
    './_base_/alrp-loss_retinanet_r101_fpn_atss.py',
    './_base_/coco512_ssd-aug_100e.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)
