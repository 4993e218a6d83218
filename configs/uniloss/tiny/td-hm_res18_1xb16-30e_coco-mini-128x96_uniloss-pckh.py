# UniLoss for PCK on the COCO mini split: positive pixels within 2.5 heatmap
# pixels of the joint (PCK@0.1 of a box about 25 heatmap pixels high), read
# off the sigma-2 targets; same model, schedule and seed as the MSE file.
_base_ = ['./td-hm_res18_1xb16-30e_coco-mini-128x96_mse.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='UniLossPCKh',
            sigma=2.0,
            radius=2.5,
            use_target_weight=True)))
