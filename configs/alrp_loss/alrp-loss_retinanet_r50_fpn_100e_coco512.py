# aLRP paper, Table 2: aLRP Loss with GIoU and self-balancing (SB), RetinaNet
# R-50 FPN at 512 (published: 39.0 AP on COCO minival).
_base_ = [
    './_base_/alrp-loss_retinanet_r50_fpn.py',
    './_base_/coco512_ssd-aug_100e.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)
