# Anchor Loss paper, Table 2 baseline: mmpretrain's ResNet-50 ImageNet recipe
# with softmax cross entropy, unchanged (listed for the comparison).
_base_ = ['mmpretrain::resnet/resnet50_8xb32_in1k.py']
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)
