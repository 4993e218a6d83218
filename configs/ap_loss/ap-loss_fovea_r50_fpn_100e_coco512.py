# aLRP paper, Table 7: FoveaBox R-50 with AP Loss + Smooth L1 (published
# 36.5 AP, 69.8 oLRP), lr 0.002 as the AP Loss baselines.
_base_ = [
    '../alrp_loss/fovea_r50_fpn_100e_coco512.py', './_base_/ap-loss_heads.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(bbox_head=_base_.ap_fovea_head)
custom_hooks = _base_.ap_hooks
optim_wrapper = dict(optimizer=dict(lr=0.002))
