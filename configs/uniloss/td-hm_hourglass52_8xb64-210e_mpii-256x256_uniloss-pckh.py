# UniLoss for PCKh on MPII with the stock hourglass and schedule. Positive
# pixels lie within radius 3 of the joint on the 64x64 heatmaps (PCKh@0.5:
# half of MPII's head size, about 6 heatmap pixels for a 256x256 crop of a
# person of typical scale); they are read off the sigma-2 Gaussian targets.
_base_ = ['./td-hm_hourglass52_8xb64-210e_mpii-256x256_mse-sigma2.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='UniLossPCKh',
            sigma=2.0,
            radius=3.0,
            use_target_weight=True),
        # the loss fixes no heatmap level: decode maxima of any sign
        decoder=dict(type='RankingMSRAHeatmap')))
