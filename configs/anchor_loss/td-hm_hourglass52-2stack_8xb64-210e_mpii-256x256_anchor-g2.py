# Table 7: the 2-stack hourglass with Anchor Loss, gamma = 2 (the paper's
# pose setting). The gamma sweep inherits this file.
_base_ = ['./td-hm_hourglass52-2stack_8xb64-210e_mpii-256x256_mse.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='AnchorHeatmapLoss',
            gamma=2.0,
            use_target_weight=True),
        # decode sigmoid(logits): mmpose drops maxima <= 0 as invalid
        decoder=dict(type='SigmoidMSRAHeatmap')))
