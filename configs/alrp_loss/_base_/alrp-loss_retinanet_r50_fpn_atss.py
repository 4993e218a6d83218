# Model only: aLRP Loss RetinaNet with ATSS assignment (top 9 per level) and
# 2 square anchors per location (octave base scale 4); no centerness, no GN.
_base_ = './alrp-loss_retinanet_r50_fpn.py'

model = dict(
    bbox_head=dict(anchor_generator=dict(octave_base_scale=4, ratios=[1.0])),
    train_cfg=dict(assigner=dict(_delete_=True, type='ATSSAssigner', topk=9)))
