# Anchor Loss paper, pose: mmpose's 1-stack hourglass on MPII with sigmoid
# heatmaps trained by Anchor Loss (gamma = 2, eqs. 3-5) instead of MSE. The
# head's outputs are logits; the loss applies the sigmoid (argmax decoding
# and PCKh are unchanged by it).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
    'td-hm_hourglass52_8xb64-210e_mpii-256x256.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='AnchorHeatmapLoss',
            gamma=2.0,
            use_target_weight=True),
        # decode sigmoid(logits): mmpose drops maxima <= 0 as invalid
        decoder=dict(type='SigmoidMSRAHeatmap')))
