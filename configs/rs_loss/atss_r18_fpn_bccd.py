# ATSS R-18 (focal + GIoU + centerness) on BCCD: the CPU baseline of RS-ATSS.
_base_ = [
    '../_base_/models/atss_r18_fpn_cpu.py',
    '../_base_/datasets/bccd_detection.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(bbox_head=dict(num_classes=3))
