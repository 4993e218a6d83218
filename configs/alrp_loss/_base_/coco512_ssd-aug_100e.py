# Training recipe of the aLRP Loss paper (Oksuz et al., NeurIPS 2020) for
# COCO at 512x512: SSD-style augmentation, 100 epochs with steps at 75 and 95,
# SGD (momentum 0.9, weight decay 1e-4), 500-iteration linear warm-up,
# batch 32 (4 GPUs x 8 images), lr 0.008. Test: (833, 500) keeping the ratio.
# No model here: combine with a model base, e.g.
#   _base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py',
#             './_base_/coco512_ssd-aug_100e.py']
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]

# Photometric distortion, expansion and min-IoU crop of SSD, before resizing.
ssd_augmentation = dict(
    type='Compose',
    transforms=[
        dict(
            type='PhotoMetricDistortion',
            brightness_delta=32,
            contrast_range=(0.5, 1.5),
            saturation_range=(0.5, 1.5),
            hue_delta=18),
        # ImageNet mean of mmdet's DetDataPreprocessor, RGB order.
        dict(
            type='Expand',
            mean=[123.675, 116.28, 103.53],
            to_rgb=True,
            ratio_range=(1, 4)),
        dict(
            type='MinIoURandomCrop',
            min_ious=(0.1, 0.3, 0.5, 0.7, 0.9),
            min_crop_size=0.3)
    ])
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True), ssd_augmentation,
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# mmdet's ``test_pipeline`` (1333, 800) stays for the 800 recipe.
test_pipeline_500 = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(833, 500), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline_500))
test_dataloader = val_dataloader

max_epochs = 100
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[75, 95],
        gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.008))
# 4 GPUs x 8 images.
auto_scale_lr = dict(base_batch_size=32)
