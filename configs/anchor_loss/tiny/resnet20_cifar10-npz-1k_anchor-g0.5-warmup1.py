# Anchor Loss (gamma = 0.5) after one epoch of softmax cross entropy on the
# CIFAR-10 subset (the paper warms up for 5 of 200 epochs).
_base_ = ['./resnet20_cifar10-npz-1k_anchor-g0.5.py']

model = dict(head=dict(loss=dict(warmup_epochs=1)))
custom_hooks = [dict(type='LossWarmupHook')]
