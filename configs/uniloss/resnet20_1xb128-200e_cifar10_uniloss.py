# UniLoss for multi-class accuracy on CIFAR-10 (16 good, 16 nearby and 16
# random anchors per batch), same model, data and schedule as the CE file.
_base_ = ['./resnet20_1xb128-200e_cifar10_ce.py']

model = dict(head=dict(loss=dict(_delete_=True, type='UniLossAccuracy')))
