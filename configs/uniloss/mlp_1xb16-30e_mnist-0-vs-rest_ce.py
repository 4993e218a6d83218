# Cross-entropy baseline of UniLoss's binary AP experiment (Sec. 4.2): digit 0
# against the rest on the full MNIST, MLP 784-500-300, batch 16, 30 epochs.
_base_ = [
    '../_base_/models/mlp_mnist.py', '../_base_/datasets/mnist_0-vs-rest.py',
    '../_base_/schedules/mnist_sgd_30e.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)
randomness = dict(seed=0)
