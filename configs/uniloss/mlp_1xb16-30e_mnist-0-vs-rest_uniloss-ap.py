# UniLoss for binary AP (paper: AP 0.9988 for digit 0 against the rest), same
# model, data and schedule as the cross-entropy baseline.
_base_ = ['./mlp_1xb16-30e_mnist-0-vs-rest_ce.py']

model = dict(head=dict(loss=dict(_delete_=True, type='UniLossBinaryAP')))
