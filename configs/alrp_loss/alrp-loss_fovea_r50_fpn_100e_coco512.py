# aLRP paper, Table 7: FoveaBox R-50 with aLRP Loss (E_loc = 1 - GIoU) and
# self-balancing, lr 0.008 (published 39.7 AP, 67.2 oLRP).
_base_ = ['./fovea_r50_fpn_100e_coco512.py', './_base_/alrp-loss_heads.py']
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(bbox_head=_base_.alrp_fovea_head)
custom_hooks = _base_.alrp_hooks
optim_wrapper = dict(optimizer=dict(lr=0.008))
