# Table 1: Anchor Loss, gamma = 0.5, background classes modulated with the
# anchor q* = q_target - 0.05 (eq. 2).
_base_ = ['./resnet110_1xb128-200e_cifar10_ce.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True, type='AnchorLoss', gamma=0.5, margin=0.05)))
