# RS-Mask R-CNN R-50 1x on COCO (RS Loss paper: 40.0 box AP / 36.4
# mask AP): mmdet's Mask R-CNN with Rank & Sort Loss in the RPN and the RoI
# head, no sampling, a score-weighted, value-balanced Dice mask loss; lr
# 0.012 at batch 16, as the authors train.
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    './_base_/rs-loss_heads.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = _base_.rs_mask_rcnn
optim_wrapper = dict(optimizer=dict(lr=0.012))
randomness = dict(seed=0)
