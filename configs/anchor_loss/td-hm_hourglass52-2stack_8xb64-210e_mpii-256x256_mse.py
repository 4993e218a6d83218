# Anchor Loss paper, Table 7 baseline: a 2-stack hourglass on MPII (mmpose's
# 1-stack recipe with two stacks; every stack's heatmaps are supervised) with
# the stock MSE loss.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
    'td-hm_hourglass52_8xb64-210e_mpii-256x256.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(backbone=dict(num_stacks=2), head=dict(num_stages=2))
