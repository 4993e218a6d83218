# CPU-sized loss comparison on the real CIFAR-10 (../shared/data/cifar10
# npz): ResNet-20 trained on the first 100 train images of each class (1,000)
# and tested on the first 100 test images of each class (1,000); 5 epochs of
# 16 iterations (batch 64), SGD lr 0.1 dropped x0.1 for the last epoch; the
# same seed and schedule for every loss (about 4 CPU-minutes a run on a
# shared 2-core machine). The loss variants inherit this file.
_base_ = ['./resnet20_cifar10-npz-2k_ce.py']

train_dataloader = dict(dataset=dict(num_per_class=100))

max_epochs = 5
param_scheduler = dict(milestones=[4])
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
