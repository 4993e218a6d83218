# RS-R-CNN (Faster R-CNN R-18 with Rank & Sort Loss in the RPN and the RoI
# head) on the MNIST digits set (CPU); the baseline is
# ../alrp_loss/faster-rcnn_r18_fpn_digits.py.
_base_ = [
    '../alrp_loss/faster-rcnn_r18_fpn_digits.py', './_base_/rs-loss_heads.py'
]

model = _base_.rs_faster_rcnn
