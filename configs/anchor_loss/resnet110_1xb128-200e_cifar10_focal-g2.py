# Table 1: focal loss, gamma = 2, without class balancing (the BCE config's
# FocalLoss with alpha = 0.5 and loss_weight = 2).
_base_ = ['./resnet110_1xb128-200e_cifar10_bce.py']

model = dict(head=dict(loss=dict(gamma=2.0)))
