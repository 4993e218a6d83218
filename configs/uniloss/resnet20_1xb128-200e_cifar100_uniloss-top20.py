# UniLoss for accuracy on CIFAR-100, comparing each target only with its 20
# highest-scoring other classes (about 20 % of the comparisons, as the paper);
# the other classes get no gradient from the sample.
_base_ = ['./resnet20_1xb128-200e_cifar100_ce.py']

model = dict(
    head=dict(
        loss=dict(_delete_=True, type='UniLossAccuracy', num_compared=20)))
