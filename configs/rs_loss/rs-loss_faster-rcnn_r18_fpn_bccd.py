# RS-R-CNN (Faster R-CNN R-18 with Rank & Sort Loss) on BCCD (CPU); the
# baseline is ../alrp_loss/faster-rcnn_r18_fpn_bccd.py.
_base_ = [
    '../alrp_loss/faster-rcnn_r18_fpn_bccd.py', './_base_/rs-loss_heads.py'
]

model = _base_.rs_faster_rcnn
