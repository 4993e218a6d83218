# RS-R-CNN R-50 1x on COCO (RS Loss paper: 39.6 AP / 67.9 oLRP on minival):
# mmdet's Faster R-CNN with Rank & Sort Loss in the RPN (weight 0.2) and the
# RoI head, no sampling; lr 0.012 at batch 16, as the authors train.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    './_base_/rs-loss_heads.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = _base_.rs_faster_rcnn
optim_wrapper = dict(optimizer=dict(lr=0.012))
randomness = dict(seed=0)
