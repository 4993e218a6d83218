# RetinaNet (focal loss) with a half-width ResNet-18 FPN trained from scratch
# on the MNIST digits detection set: the CPU baseline of mmrank's demos.
_base_ = [
    '../_base_/models/retinanet_r18_fpn_cpu.py',
    '../_base_/datasets/digits_detection.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(bbox_head=dict(num_classes=10))
