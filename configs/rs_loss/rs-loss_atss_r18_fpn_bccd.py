# RS-ATSS R-18 on BCCD (CPU): atss_r18_fpn_bccd.py with Rank & Sort Loss and
# no centerness branch.
_base_ = ['./atss_r18_fpn_bccd.py', './_base_/rs-loss_heads.py']

model = dict(bbox_head=_base_.rs_atss_head)
