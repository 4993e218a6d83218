# UniLoss for binary AP on the MNIST 5k subset (same schedule and seed as the
# cross-entropy file it inherits).
_base_ = ['./mlp_1xb16-5e_mnist5k-0-vs-rest_ce.py']

model = dict(head=dict(loss=dict(_delete_=True, type='UniLossBinaryAP')))
