# FoveaBox R-18 with focal loss + Smooth L1 on the MNIST digits set (CPU
# baseline).
_base_ = [
    '../_base_/models/fovea_r18_fpn_cpu.py',
    '../_base_/datasets/digits_detection.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(bbox_head=dict(num_classes=10))
