# RS-ATSS R-18 on BCCD (CPU): atss_r18_fpn_bccd.py with Rank & Sort Loss and
# no centerness branch.
_base_ = ['./atss_r18_fpn_bccd.py', './_base_/rs-loss_heads.py']

# RS Loss only ranks: after a short schedule its scores mostly stay below
# mmdet's test cut of 0.05, which then hides most true positives (BCCD, 3
# seeds: 0.334 AP at 0.05, 0.473 at 0.001; the ATSS baseline's AP is the
# same at both), so the CPU configs keep every score above 0.001.
model = dict(bbox_head=_base_.rs_atss_head, test_cfg=dict(score_thr=0.001))
