# Table 2: focal loss (gamma = 0.5, no class balancing: alpha = 0.5 with
# loss_weight = 2) on mmpretrain's ResNet-50 ImageNet recipe.
_base_ = ['./resnet50_8xb32_in1k_ce.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='FocalLoss',
            gamma=0.5,
            alpha=0.5,
            loss_weight=2.0)))
