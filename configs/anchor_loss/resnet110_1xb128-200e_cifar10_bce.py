# Table 1: sigmoid binary cross entropy, summed over classes (the gamma = 0
# case of Anchor Loss). mmpretrain's CrossEntropyLoss(use_sigmoid=True)
# needs one-hot targets, so this is its FocalLoss with gamma = 0 and no class
# balancing (alpha = 0.5, loss_weight = 2), which is exactly that BCE.
_base_ = ['./resnet110_1xb128-200e_cifar10_ce.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='FocalLoss',
            gamma=0.0,
            alpha=0.5,
            loss_weight=2.0)))
