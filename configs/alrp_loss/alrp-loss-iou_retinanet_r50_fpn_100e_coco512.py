# aLRP paper, Table 2: aLRP Loss with E_loc = (1 - IoU) / (1 - 0.5) and SB.
_base_ = './alrp-loss_retinanet_r50_fpn_100e_coco512.py'
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(bbox_head=dict(loss_cls=dict(loc_error='iou')))
