# The aLRP paper's 800x800 recipe: the 512 one resized to 800x800, with 4
# images per GPU (batch 16 on 4 GPUs), lr 0.004, tested at (1333, 800).
_base_ = './coco512_ssd-aug_100e.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    {{_base_.ssd_augmentation}},
    dict(type='Resize', scale=(800, 800), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.004))
auto_scale_lr = dict(base_batch_size=16)
