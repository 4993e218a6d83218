# Table 2: Anchor Loss (gamma = 0.5, eq. 2) on mmpretrain's ResNet-50
# ImageNet recipe.
_base_ = ['./resnet50_8xb32_in1k_ce.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True, type='AnchorLoss', gamma=0.5, margin=0.05)))
