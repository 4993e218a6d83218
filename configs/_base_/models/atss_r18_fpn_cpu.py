# ATSS (focal loss + GIoU + centerness, as mmdet's atss_r50_fpn_1x_coco.py:
# one square anchor per location, ATSS assignment with the top 9 per level,
# GN towers) on the narrow CPU RetinaNet; the anchor scale is 3/4 of the
# stock 8, as the CPU RetinaNet's is of its stock 4 (small digits).
_base_ = './retinanet_r18_fpn_cpu.py'

model = dict(
    bbox_head=dict(
        type='ATSSHead',
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        anchor_generator=dict(
            ratios=[1.0], octave_base_scale=6, scales_per_octave=1),
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
        reg_decoded_bbox=True,
        loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(assigner=dict(_delete_=True, type='ATSSAssigner', topk=9)))
