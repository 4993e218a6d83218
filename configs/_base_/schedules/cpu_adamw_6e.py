# The CPU demo schedule of retinanet/retinanet_r18_fpn_digits.py: AdamW with a
# 100-iteration warm-up, 6 epochs, lr x0.1 after epoch 5, a validation after
# every epoch, batch 8, seed 0 (the same numbers for the same thread count).
_base_ = [
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[5],
        gamma=0.1)
]
default_hooks = dict(logger=dict(interval=20))
auto_scale_lr = dict(base_batch_size=8)
randomness = dict(seed=0)
