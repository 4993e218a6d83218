# Focal loss (gamma = 2, no class balancing) on the MNIST digits.
_base_ = ['./mlp_1xb16-5e_mnist5k_bce.py']

model = dict(head=dict(loss=dict(gamma=2.0)))
