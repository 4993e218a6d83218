# UniLoss for PCK on the COCO mini split; the MSE baseline is the Anchor Loss
# CPU pose config it inherits (same model, schedule and seed). Its targets
# have sigma 1, whose Gaussian window ends 3 pixels from the joint, so the
# positive pixels are those within 3 heatmap pixels (about PCK@0.12 of the
# box; the logged metric stays mmpose's PCK@0.2).
_base_ = [
    '../../anchor_loss/tiny/'
    'td-hm_mobilenetv2-0.5_coco-mini-128x96_mse.py'
]

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='UniLossPCKh',
            sigma=1.0,
            radius=3.0,
            use_target_weight=True),
        # the loss fixes no heatmap level: decode maxima of any sign
        decoder=dict(type='RankingMSRAHeatmap')))
