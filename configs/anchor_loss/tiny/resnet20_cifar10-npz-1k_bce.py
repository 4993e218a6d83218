# Sigmoid BCE summed over classes on the CPU-sized CIFAR-10 subset
# (mmpretrain FocalLoss with gamma = 0, alpha = 0.5, loss_weight = 2).
_base_ = ['./resnet20_cifar10-npz-1k_ce.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='FocalLoss',
            gamma=0.0,
            alpha=0.5,
            loss_weight=2.0)))
