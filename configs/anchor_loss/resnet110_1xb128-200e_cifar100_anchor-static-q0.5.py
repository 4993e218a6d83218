# Table 3 ablation: a static anchor q* = 0.5 for every background class
# instead of the dynamic q* = q_target - 0.05. Other values:
# --cfg-options model.head.loss.anchor=0.1
_base_ = ['./resnet110_1xb128-200e_cifar100_anchor-g0.5.py']

model = dict(head=dict(loss=dict(anchor=0.5)))
