# RetinaNet R-18 with AP Loss + Smooth L1 on the MNIST digits set (CPU demo).
_base_ = [
    './_base_/ap-loss_retinanet_r18_fpn_cpu.py',
    '../_base_/datasets/digits_detection.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(bbox_head=dict(num_classes=10))
