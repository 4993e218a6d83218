# aLRP paper, Table 2 (first aLRP row) and Table 3: aLRP Loss (IoU) with a
# constant weight w_r of L_loc instead of self-balancing. Sweep w_r with
#   --cfg-options model.bbox_head.loss_cls.loc_weight=<w_r>
_base_ = './alrp-loss-iou_retinanet_r50_fpn_100e_coco512.py'
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

custom_hooks = [dict(type='RankingAnalysisHook', interval=50)]
