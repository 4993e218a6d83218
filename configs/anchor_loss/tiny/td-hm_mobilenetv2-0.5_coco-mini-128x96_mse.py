# CPU-sized pose comparison on real COCO person keypoints (the 80 + 79 image
# coco_mini split in ../shared/data: 86 train / 68 val persons, ground-truth
# boxes): mmpose's MobileNetV2 heatmap recipe at width 0.5, trained from
# scratch, input 96x128, 24x32 heatmaps, narrow deconvolutions, stock MSE
# loss; 15 epochs of 6 iterations (batch 16), Adam lr 1e-3 dropped x0.1
# after epochs 11 and 14; PCK@0.2 of the box size on val. (mmpose's
# hourglass stem has 256 fixed channels, too heavy for 2 CPU cores.) The
# Anchor Loss variant inherits this file and changes only the loss.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_mobilenetv2_8xb64-210e_coco-256x192.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

max_epochs = 15
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        milestones=[11, 14],
        gamma=0.1,
        by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(save_best=None, interval=max_epochs))
randomness = dict(seed=0)

codec = dict(
    type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1)
model = dict(
    backbone=dict(widen_factor=0.5, init_cfg=None),
    head=dict(deconv_out_channels=(64, 64, 64), decoder=codec))

data_root = '../shared/data/coco_mini/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, bbox_file=None, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='PCKAccuracy', thr=0.2, norm_item='bbox')
test_evaluator = val_evaluator
