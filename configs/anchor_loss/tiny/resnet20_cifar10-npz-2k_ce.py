# CPU-sized comparison on the real CIFAR-10 (../shared/data/cifar10 npz):
# ResNet-20 trained on the first 200 train images of each class (2,000)
# and tested on the first 100 test images of each class (1,000), same seed
# and schedule for every loss (15 epochs of 32 iterations, batch 64). The
# 1k comparison configs inherit this file.
_base_ = [
    '../../_base_/models/cifar_resnet110.py',
    '../../_base_/datasets/cifar10_npz.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(backbone=dict(depth=20))

train_dataloader = dict(
    batch_size=64, num_workers=0, dataset=dict(num_per_class=200))
val_dataloader = dict(
    batch_size=250, num_workers=0, dataset=dict(num_per_class=100))
test_dataloader = val_dataloader

max_epochs = 15
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[10, 13], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
randomness = dict(seed=0)
