# aLRP paper, Table 8 (baseline): Faster R-CNN R-50 FPN with cross-entropy +
# L1 under the aLRP recipe; lr 0.04 as the authors' baseline (published
# 37.8 AP, 69.3 oLRP).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    './_base_/coco512_ssd-aug_100e.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

optim_wrapper = dict(optimizer=dict(lr=0.04))
