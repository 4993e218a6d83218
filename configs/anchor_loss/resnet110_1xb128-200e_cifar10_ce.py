# Anchor Loss paper, Table 1 baseline: ResNet-110 with softmax cross entropy
# on CIFAR-10, batch 128 on one GPU, 200 epochs. The loss variants inherit
# this file.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar_bs128_200e.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
