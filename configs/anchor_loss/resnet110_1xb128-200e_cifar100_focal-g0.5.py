# Table 1: focal loss, gamma = 0.5 (same gamma as Anchor Loss).
_base_ = ['./resnet110_1xb128-200e_cifar100_focal-g2.py']

model = dict(head=dict(loss=dict(gamma=0.5)))
