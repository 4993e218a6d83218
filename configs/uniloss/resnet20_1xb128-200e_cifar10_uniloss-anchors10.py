# Anchor ablation (paper Table 4): 10 good, 10 nearby and 10 random anchors.
_base_ = ['./resnet20_1xb128-200e_cifar10_uniloss.py']

model = dict(
    head=dict(loss=dict(num_good=10, num_nearby=10, num_random=10)))
