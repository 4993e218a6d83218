# UniLoss for accuracy on the CPU-sized CIFAR-10 subset (2,000 train / 1,000
# test real images); the cross-entropy baseline is the Anchor Loss subset
# config it inherits (same model, schedule and seed).
_base_ = ['../../anchor_loss/tiny/resnet20_cifar10-npz-2k_ce.py']

model = dict(head=dict(loss=dict(_delete_=True, type='UniLossAccuracy')))
