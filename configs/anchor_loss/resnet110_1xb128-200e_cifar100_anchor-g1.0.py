# Table 3 ablation: Anchor Loss with gamma = 1.0 (0.5 in the main results).
_base_ = ['./resnet110_1xb128-200e_cifar100_anchor-g0.5.py']

model = dict(head=dict(loss=dict(gamma=1.0)))
