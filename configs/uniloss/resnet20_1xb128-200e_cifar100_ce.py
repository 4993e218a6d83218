# Cross-entropy baseline of UniLoss's CIFAR-100 experiment (paper: 65.92 with
# UniLoss): ResNet-20, mmpretrain's CIFAR-100 data, 200 epochs at batch 128.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(backbone=dict(depth=20), head=dict(num_classes=100))
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
randomness = dict(seed=0)
