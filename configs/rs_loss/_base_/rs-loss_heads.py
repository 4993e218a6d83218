# Rank & Sort Loss on stock mmdet heads: fragments shared by the COCO configs
# of the paper and the CPU configs, e.g.
#   model = dict(bbox_head=_base_.rs_atss_head)
# RankSortLoss trains the boxes itself (GIoU weighted by each positive's
# largest class score, balanced every iteration by value): the heads'
# loss_bbox is not used, and no hook is needed.
#
# RS-ATSS: the ATSS head without its centerness branch; IoU targets rank and
# sort every anchor of the batch.
rs_atss_head = dict(
    type='RankingRetinaHead',
    reg_decoded_bbox=True,
    loss_cls=dict(_delete_=True, type='RankSortLoss'))
# RS-R-CNN: the RPN's RS Loss weighs 0.2 (as the authors'); the RoI head has
# a sigmoid classifier and class-specific boxes. Neither samples: the RPN
# ranks every anchor, the RoI head every proposal (the stock RandomSampler
# with an unbounded number keeps all of them, ground truths included).
rs_faster_rcnn = dict(
    rpn_head=dict(
        type='RankingRPNHead',
        reg_decoded_bbox=True,
        loss_cls=dict(_delete_=True, type='RankSortLoss', loss_weight=0.2)),
    roi_head=dict(
        bbox_head=dict(
            type='RankingShared2FCBBoxHead',
            reg_decoded_bbox=True,
            loss_cls=dict(_delete_=True, type='RankSortLoss'))),
    train_cfg=dict(
        rpn=dict(sampler=None), rcnn=dict(sampler=dict(num=100000))))
# RS-Mask R-CNN: RS-R-CNN whose Dice mask loss is weighted per positive by
# its largest class score and balanced by value against the RoI head's
# classification loss (at most 200 masks per image, as the authors cap it).
rs_mask_rcnn = dict(
    rs_faster_rcnn,
    roi_head=dict(
        rs_faster_rcnn['roi_head'],
        type='RankingStandardRoIHead',
        max_masks_per_image=200,
        mask_head=dict(loss_mask=dict(_delete_=True, type='DiceLoss'))))
