# FoveaBox R-18 with focal loss + Smooth L1 on the BCCD blood-cell set (CPU
# baseline).
_base_ = [
    '../_base_/models/fovea_r18_fpn_cpu.py',
    '../_base_/datasets/bccd_detection.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)

model = dict(bbox_head=dict(num_classes=3))
