# RS-Mask R-CNN R-18 on the COCO-mini instances beside the repository (CPU):
# Rank & Sort Loss in the RPN and the RoI head, a score-weighted,
# value-balanced Dice mask loss.
_base_ = [
    '../_base_/models/mask-rcnn_r18_fpn_cpu.py',
    '../_base_/datasets/coco_mini_instance.py', './_base_/rs-loss_heads.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = _base_.rs_mask_rcnn
