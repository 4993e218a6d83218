# He et al.'s CIFAR ResNet-110 (3 stages of 16/32/64 channels, 18 basic
# blocks each) in mmpretrain's ImageClassifier with a linear head.
_base_ = ['mmpretrain::_base_/models/resnet18_cifar.py']

model = dict(
    backbone=dict(_delete_=True, type='CifarResNet', depth=110),
    head=dict(in_channels=64))
