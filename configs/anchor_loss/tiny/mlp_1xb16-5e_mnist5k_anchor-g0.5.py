# Anchor Loss (gamma = 0.5, eq. 2) on the MNIST digits.
_base_ = ['./mlp_1xb16-5e_mnist5k_ce.py']

model = dict(
    head=dict(loss=dict(_delete_=True, type='AnchorLoss', gamma=0.5)))
