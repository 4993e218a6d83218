# Sigmoid BCE summed over the 10 classes (mmpretrain FocalLoss with
# gamma = 0, alpha = 0.5, loss_weight = 2) on the MNIST digits.
_base_ = ['./mlp_1xb16-5e_mnist5k_ce.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='FocalLoss',
            gamma=0.0,
            alpha=0.5,
            loss_weight=2.0)))
