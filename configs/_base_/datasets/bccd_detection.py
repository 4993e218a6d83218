# BCCD blood cells (RBC, WBC, Platelets), 640x480 microscope images.
# Convert first: python tools/dataset_converters/bccd2coco.py \
#     ../shared/data/bccd/BCCD --out-dir data/bccd
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

data_root = 'data/bccd/'
metainfo = dict(
    classes=('RBC', 'WBC', 'Platelets'),
    palette=[(220, 20, 60), (0, 0, 142), (250, 170, 30)])
image_scale = (320, 320)

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
# The data worker restarts every epoch with mmengine's worker seed (seed +
# worker id), so the random flips of an epoch depend only on the seed and a
# run resumed from an epoch checkpoint continues bit-identically (a
# persistent worker would carry its random stream across epochs, which a
# resumed run cannot restore).
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='JPEGImages/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img='JPEGImages/'),
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/test.json',
        data_prefix=dict(img='JPEGImages/'),
        test_mode=True,
        pipeline=test_pipeline))
# COCO AP and optimal LRP side by side (LRPMetric is mmrank's).
val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/val.json',
        metric='bbox'),
    dict(
        type='LRPMetric',
        ann_file=data_root + 'annotations/val.json',
        metric='bbox')
]
test_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/test.json',
        metric='bbox',
        classwise=True),
    dict(
        type='LRPMetric',
        ann_file=data_root + 'annotations/test.json',
        metric='bbox',
        classwise=True,
        save_plots=True)
]
