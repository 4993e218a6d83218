# Anchor ablation (paper Table 4): 5 good, 5 nearby and 5 random anchors.
_base_ = ['./resnet20_1xb128-200e_cifar10_uniloss.py']

model = dict(
    head=dict(loss=dict(num_good=5, num_nearby=5, num_random=5)))
