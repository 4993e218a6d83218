# Digit 0 against the other nine digits on the full MNIST (60,000 / 10,000)
# with mmpretrain's MNIST dataset (data/mnist, downloaded by mmpretrain).
_base_ = ['./mnist5k_0-vs-rest.py']

dataset_type = 'MNIST'
data_root = 'data/mnist'
train_dataloader = dict(
    num_workers=2,
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root,
                 test_mode=False, pipeline={{_base_.pipeline}}))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root,
                 test_mode=True, pipeline={{_base_.pipeline}}))
test_dataloader = val_dataloader
