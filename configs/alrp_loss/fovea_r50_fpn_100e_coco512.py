# aLRP paper, Table 7 (baseline): FoveaBox R-50 with focal loss + Smooth L1
# under the aLRP recipe; lr 0.02 as the authors' baseline (published 38.3 AP,
# 68.8 oLRP).
_base_ = [
    '../_base_/models/fovea_r50_fpn.py', './_base_/coco512_ssd-aug_100e.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

optim_wrapper = dict(optimizer=dict(lr=0.02))
