# Batch-size ablation: UniLoss interpolates the metric of the whole batch, so
# the batch size changes the surrogate. Batch 32, lr scaled linearly
# (0.1 x 32 / 128 = 0.025).
_base_ = ['./resnet20_1xb128-200e_cifar10_uniloss.py']

train_dataloader = dict(batch_size=32)
optim_wrapper = dict(optimizer=dict(lr=0.025))
