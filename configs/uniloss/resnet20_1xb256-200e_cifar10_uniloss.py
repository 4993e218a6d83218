# Batch-size ablation: UniLoss interpolates the metric of the whole batch, so
# the batch size changes the surrogate. Batch 256, lr scaled linearly
# (0.1 x 256 / 128 = 0.2).
_base_ = ['./resnet20_1xb128-200e_cifar10_uniloss.py']

train_dataloader = dict(batch_size=256)
optim_wrapper = dict(optimizer=dict(lr=0.2))
