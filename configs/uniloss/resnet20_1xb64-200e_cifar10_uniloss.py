# Batch-size ablation: UniLoss interpolates the metric of the whole batch, so
# the batch size changes the surrogate. Batch 64, lr scaled linearly
# (0.1 x 64 / 128 = 0.05).
_base_ = ['./resnet20_1xb128-200e_cifar10_uniloss.py']

train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=0.05))
