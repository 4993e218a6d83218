# aLRP Loss on stock mmdet heads: fragments shared by the COCO configs of the
# paper and the CPU demo configs, e.g.
#   model = dict(bbox_head=_base_.alrp_retina_head)
# The stock heads' loss_bbox is not used with aLRPLoss: the localisation error
# comes from the GIoU of the decoded boxes (loss_cls.loc_error).
alrp_retina_head = dict(
    type='RankingRetinaHead',
    reg_decoded_bbox=True,
    loss_cls=dict(_delete_=True, type='aLRPLoss'))
alrp_fovea_head = dict(
    type='RankingFoveaHead', loss_cls=dict(_delete_=True, type='aLRPLoss'))
# Faster R-CNN: the RPN's positives have IoU >= 0.7 (tau) and its loss weighs
# 0.2; the RoI head has a sigmoid classifier and class-specific boxes; both
# rank every anchor / proposal (no sampling) and are self-balanced separately.
alrp_faster_rcnn = dict(
    rpn_head=dict(
        type='RankingRPNHead',
        reg_decoded_bbox=True,
        loss_cls=dict(
            _delete_=True, type='aLRPLoss', tau=0.7, loss_weight=0.2)),
    roi_head=dict(
        bbox_head=dict(
            type='RankingShared2FCBBoxHead',
            reg_decoded_bbox=True,
            loss_cls=dict(_delete_=True, type='aLRPLoss'))),
    train_cfg=dict(
        rpn=dict(sampler=None),
        rcnn=dict(sampler=dict(_delete_=True, type='PseudoSampler'))))
alrp_hooks = [
    dict(type='SelfBalancingHook'),
    dict(type='RankingAnalysisHook', interval=50)
]
