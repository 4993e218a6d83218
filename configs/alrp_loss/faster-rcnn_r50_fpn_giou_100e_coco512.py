# aLRP paper, Table 8: Faster R-CNN R-50 with cross-entropy + GIoU loss in the
# RoI head, as mmdet's faster-rcnn_r50_fpn_giou_1x_coco.py (published 38.2 AP,
# 69.0 oLRP).
_base_ = './faster-rcnn_r50_fpn_100e_coco512.py'
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        bbox_head=dict(
            reg_decoded_bbox=True,
            loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=10.0))))
