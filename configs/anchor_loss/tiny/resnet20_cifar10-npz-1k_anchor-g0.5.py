# Anchor Loss (gamma = 0.5, eq. 2) on the CPU-sized CIFAR-10 subset.
_base_ = ['./resnet20_cifar10-npz-1k_ce.py']

model = dict(
    head=dict(loss=dict(_delete_=True, type='AnchorLoss', gamma=0.5)))
