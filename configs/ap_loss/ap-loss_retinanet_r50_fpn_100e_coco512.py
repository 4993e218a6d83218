# aLRP paper, Table 2 (baseline): AP Loss + Smooth L1, RetinaNet R-50 FPN at
# 512 with the aLRP recipe, the aLRP RetinaNet's anchors and box coder, and
# lr 0.002 (published: 35.4 AP on minival).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../alrp_loss/_base_/coco512_ssd-aug_100e.py', './_base_/ap-loss_heads.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(
        _base_.ap_retina_head,
        anchor_generator=dict(scales_per_octave=2),
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2])))
custom_hooks = _base_.ap_hooks
optim_wrapper = dict(optimizer=dict(lr=0.002))
