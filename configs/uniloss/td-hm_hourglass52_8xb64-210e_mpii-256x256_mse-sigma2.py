# MSE baseline of UniLoss's pose experiment (Sec. 4.3, Table 1): mmpose's
# stock one-stack hourglass on MPII, Gaussian targets of sigma 2 (stock).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
    'td-hm_hourglass52_8xb64-210e_mpii-256x256.py'
]
custom_imports = dict(imports=['mmrank'], allow_failed_imports=False)
