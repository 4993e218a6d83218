# MSE baseline with Gaussian targets of sigma 1 (the sigma sweep of Table 1);
# the codec is changed in the head's decoder and in the training targets.
# Other sigmas without another file, e.g. 3:
#   --cfg-options model.head.decoder.sigma=3 \
#       train_dataloader.dataset.pipeline.5.encoder.sigma=3
_base_ = ['./td-hm_hourglass52_8xb64-210e_mpii-256x256_mse-sigma2.py']

codec = dict(
    type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=1)
model = dict(head=dict(decoder=codec))
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_prob=0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
