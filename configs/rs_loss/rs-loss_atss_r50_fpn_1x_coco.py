# RS-ATSS R-50 1x on COCO (RS Loss paper: 39.9 AP / 67.9 oLRP on minival):
# mmdet's ATSS without the centerness branch, trained with Rank & Sort Loss;
# lr 0.008 at batch 16 (4 GPUs x 4), as the authors train.
_base_ = ['mmdet::atss/atss_r50_fpn_1x_coco.py', './_base_/rs-loss_heads.py']
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(
        _base_.rs_atss_head,
        _delete_=True,
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        anchor_generator=dict(
            type='AnchorGenerator',
            ratios=[1.0],
            octave_base_scale=8,
            scales_per_octave=1,
            strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='RankSortLoss')))
optim_wrapper = dict(optimizer=dict(lr=0.008))
randomness = dict(seed=0)
