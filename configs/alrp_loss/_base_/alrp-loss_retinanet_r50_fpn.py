# Model only: RetinaNet R-50 FPN trained with aLRP Loss (E_loc = 1 - GIoU)
# and self-balancing, as in the aLRP paper: 2 scales per octave, box deltas
# normalised by (0.1, 0.1, 0.2, 0.2).
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', './alrp-loss_heads.py']

model = dict(
    bbox_head=dict(
        _base_.alrp_retina_head,
        anchor_generator=dict(scales_per_octave=2),
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2])))
custom_hooks = _base_.alrp_hooks
