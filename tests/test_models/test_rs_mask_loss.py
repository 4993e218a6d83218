"""RS-Mask R-CNN's score-weighted Dice mask loss against a hand computation.

The RoI head balances the mask loss by value (``loss_mask = (L_rank +
L_sort) / L_mask * L_mask``), so its logged value equals the box head's
classification loss whatever ``L_mask`` is. What carries the Dice loss and
its score weights is the multiplier ``mask_weight = (L_rank + L_sort) /
L_mask`` and the gradient reaching the mask predictions; both are checked
here against the RS paper's definitions written out below:

* Dice (V-Net form, mmdet's default): ``d_k = 1 - 2 sum(p t) / (sum(p^2) +
  eps + sum(t^2) + eps)``, ``p = sigmoid(mask logit of the GT class)``;
* weight ``w_k = max_c sigmoid(cls_score[k, c])`` of the positive's RoI;
* ``L_mask = sum_k w_k d_k / sum_k w_k`` over the kept positives.
"""
from typing import Dict, List

import torch
from torch import Tensor

import mmrank.models.roi_heads.ranking_roi_head as roi_module
from tests.test_models.ranking_helpers import build_detector, demo_batch

CONFIG = 'rs_loss/rs-loss_mask-rcnn_r18_fpn_coco-mini.py'
DICE_EPS = 1e-3  # mmdet DiceLoss default


def hand_dice(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-mask V-Net Dice loss of mask logits (n, h, w) in float64."""
    p = logits.double().sigmoid().flatten(1)
    t = targets.double().flatten(1)
    return 1 - 2 * (p * t).sum(1) / ((p * p).sum(1) + DICE_EPS +
                                     (t * t).sum(1) + DICE_EPS)


def _row_of(pos_priors: Tensor, rois: Tensor) -> List[int]:
    """Index in ``pos_priors`` of each RoI box (they are copied from it)."""
    return [
        int(torch.nonzero((pos_priors == box).all(1))[0]) for box in rois
    ]


def _run(max_masks: int, seed: int = 0) -> Dict[str, object]:
    """One forward/backward of the RS-Mask R-CNN losses with controlled
    mask predictions; returns what the hand computation needs."""
    model = build_detector(CONFIG)
    roi_head = model.roi_head
    roi_head.max_masks_per_image = max_masks
    seen: Dict[str, object] = {}
    bbox_loss, mask_target = roi_head.bbox_loss, roi_module.mask_target

    def record_bbox_loss(x, sampling_results):
        out = bbox_loss(x, sampling_results)
        seen['sampling_results'] = sampling_results
        seen['cls_score'] = out['cls_score'].detach().clone()
        return out

    def record_targets(*args, **kwargs):
        seen['targets'] = mask_target(*args, **kwargs)
        return seen['targets']

    def fixed_preds(x, rois=None, **kwargs):
        gen = torch.Generator().manual_seed(seed)
        preds = (torch.randn(rois.size(0), 80, 28, 28, generator=gen) *
                 2).requires_grad_()
        seen['rois'], seen['preds'] = rois, preds
        return dict(mask_preds=preds)

    roi_head.bbox_loss = record_bbox_loss
    roi_head._mask_forward = fixed_preds
    roi_module.mask_target = record_targets
    try:
        data = demo_batch(model, [3, 2], size=96, num_classes=80,
                          with_mask=True)
        torch.manual_seed(seed)
        losses = model.loss(data['inputs'], data['data_samples'])
    finally:
        roi_module.mask_target = mask_target
    losses['loss_mask'].backward()
    seen['losses'] = losses
    return seen


def _hand_mask_loss(seen: Dict[str, object]):
    """Labels, weights and per-mask Dice of the kept positives, by hand."""
    rois, results = seen['rois'], seen['sampling_results']
    labels, weights, start = [], [], 0
    for image, res in enumerate(results):
        boxes = rois[rois[:, 0] == image, 1:]
        rows = _row_of(res.pos_priors, boxes)
        labels += [int(res.pos_gt_labels[r]) for r in rows]
        scores = seen['cls_score'][[start + r for r in rows]].double()
        weights += [float(s.sigmoid().max()) for s in scores]
        start += res.priors.size(0)
    labels = torch.tensor(labels)
    weights = torch.tensor(weights, dtype=torch.float64)
    preds = seen['preds'].detach().double().requires_grad_()
    dice = hand_dice(preds[torch.arange(labels.numel()), labels],
                     seen['targets'])
    return labels, weights, dice, preds


def test_mask_weight_and_gradient_match_hand_computation():
    seen = _run(max_masks=200)
    losses = seen['losses']
    labels, weights, dice, preds = _hand_mask_loss(seen)
    # Every positive is kept (3 + 2 GTs, each added as a proposal).
    assert labels.numel() == sum(
        r.pos_priors.size(0) for r in seen['sampling_results']) >= 5
    assert weights.std() > 1e-3  # unequal weights: a plain mean differs
    l_mask = (weights * dice).sum() / weights.sum()
    ranking = (losses['loss_rank'] + losses['loss_sort']).double().detach()
    expected_weight = ranking / l_mask.detach()
    torch.testing.assert_close(losses['mask_weight'].double(),
                               expected_weight, rtol=1e-5, atol=0)
    torch.testing.assert_close(losses['loss_mask'].double().detach(),
                               ranking, rtol=1e-5, atol=0)
    # The gradient reaching the mask logits: mask_weight (a constant) times
    # d L_mask / d logits; only each positive's GT-class channel receives.
    (expected_weight * l_mask).backward()
    grad = seen['preds'].grad.double()
    torch.testing.assert_close(grad, preds.grad, rtol=1e-4, atol=1e-10)
    other = torch.ones_like(grad, dtype=torch.bool)
    other[torch.arange(labels.numel()), labels] = False
    assert torch.count_nonzero(grad[other]) == 0


def test_capped_masks_use_the_weights_of_their_own_rois():
    # With two masks per image the kept positives are a random subset; the
    # weights must follow the RoIs actually kept, not the first rows.
    seen = _run(max_masks=2, seed=1)
    per_image = torch.bincount(seen['rois'][:, 0].long(), minlength=2)
    assert per_image.tolist() == [2, 2]
    _, weights, dice, _ = _hand_mask_loss(seen)
    l_mask = (weights * dice).sum() / weights.sum()
    losses = seen['losses']
    ranking = (losses['loss_rank'] + losses['loss_sort']).double().detach()
    torch.testing.assert_close(losses['mask_weight'].double(),
                               ranking / l_mask, rtol=1e-5, atol=0)
