# Focal loss (gamma = 2, no class balancing) on the CIFAR-10 subset.
_base_ = ['./resnet20_cifar10-npz-1k_bce.py']

model = dict(head=dict(loss=dict(gamma=2.0)))
