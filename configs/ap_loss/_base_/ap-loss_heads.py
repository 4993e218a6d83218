# AP Loss on stock mmdet heads (boxes keep a Smooth L1 loss): fragments shared
# by the COCO configs of the aLRP paper and the CPU demo configs, e.g.
#   model = dict(bbox_head=_base_.ap_retina_head)
ap_retina_head = dict(
    type='RankingRetinaHead',
    loss_cls=dict(_delete_=True, type='APLoss'),
    loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=0.11))
ap_fovea_head = dict(
    type='RankingFoveaHead', loss_cls=dict(_delete_=True, type='APLoss'))
ap_hooks = [dict(type='RankingAnalysisHook', interval=50)]
