# UniLoss's MNIST recipe: SGD lr 0.01, momentum 0.5, 30 epochs, constant lr.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.5))
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()
