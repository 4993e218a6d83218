# Supplementary ablation: modulate the 'target' term(s) of Anchor Loss; the
# target anchor is the highest background score + 0.05.
_base_ = ['./resnet110_1xb128-200e_cifar100_anchor-g0.5.py']

model = dict(head=dict(loss=dict(variant='target')))
