# aLRP paper, Table 2 (+ATSS) and Table 6 (aLRPLoss500, R-50): published
# 41.0 AP (minival) / 41.3 (test-dev). Table 4 (initial SB weight):
#   --cfg-options model.bbox_head.loss_cls.loc_weight=<initial w_r>
_base_ = [
    './_base_/alrp-loss_retinanet_r50_fpn_atss.py',
    './_base_/coco512_ssd-aug_100e.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)
