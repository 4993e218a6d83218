# UniLoss's MNIST classifier: a 784-500-300 ReLU MLP and a linear layer, in
# mmpretrain's ImageClassifier (two outputs for "digit 0 against the rest").
model = dict(
    type='ImageClassifier',
    backbone=dict(type='MLPNet', in_features=784, hidden_features=(500, 300)),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=300,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
