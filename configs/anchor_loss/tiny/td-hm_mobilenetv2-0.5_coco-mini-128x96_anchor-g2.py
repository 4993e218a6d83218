# Anchor Loss (gamma = 2, eqs. 3-5) on sigmoid heatmaps: the head's outputs
# are logits and the loss applies the sigmoid; everything else as the MSE
# baseline.
_base_ = ['./td-hm_mobilenetv2-0.5_coco-mini-128x96_mse.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='AnchorHeatmapLoss',
            gamma=2.0,
            use_target_weight=True),
        # decode sigmoid(logits): mmpose drops maxima <= 0 as invalid
        decoder=dict(type='SigmoidMSRAHeatmap')))
