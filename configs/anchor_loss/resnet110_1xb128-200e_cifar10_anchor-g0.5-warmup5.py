# Table 1: Anchor Loss after 5 epochs of softmax cross entropy, the paper's
# CIFAR recipe. LossWarmupHook tells the loss the runner's epoch before each
# epoch, so resumed runs continue in the right phase.
_base_ = ['./resnet110_1xb128-200e_cifar10_anchor-g0.5.py']

model = dict(head=dict(loss=dict(warmup_epochs=5)))
custom_hooks = [dict(type='LossWarmupHook')]
