# Cross-entropy baseline of UniLoss's CIFAR-10 accuracy experiment (Sec. 4.1;
# paper: 91.64 with UniLoss): ResNet-20, mmpretrain's CIFAR-10 data and
# 200-epoch batch-128 schedule. The UniLoss variants inherit this file.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(backbone=dict(depth=20))
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
randomness = dict(seed=0)
