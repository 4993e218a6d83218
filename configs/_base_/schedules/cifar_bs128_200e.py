# Anchor Loss paper, CIFAR schedule: 200 epochs, batch 128, SGD lr 0.1
# (momentum 0.9, weight decay 1e-4) dropped x0.1 at epochs 160 and 180.
_base_ = ['mmpretrain::_base_/schedules/cifar10_bs128.py']

param_scheduler = dict(milestones=[160, 180])
