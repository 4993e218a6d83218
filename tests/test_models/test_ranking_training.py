"""A few training steps of each ranking detector on real digits images."""
import pytest
import torch
from mmdet.registry import DATASETS
from mmengine.dataset import pseudo_collate

from mmrank.models.utils import ranking_heads
from tests.test_models.ranking_helpers import build_detector, load_config

NUM_IMAGES = 4
#: AdamW steps per detector: enough for a clear fall on 2 CPU cores (the
#: two-stage detector is 5x slower per step, AP Loss + Smooth L1 falls fast).
STEPS = {
    'alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py': 16,
    'ap_loss/ap-loss_retinanet_r18_fpn_digits.py': 8,
    'alrp_loss/alrp-loss_fovea_r18_fpn_digits.py': 16,
    'ap_loss/ap-loss_fovea_r18_fpn_digits.py': 16,
    'alrp_loss/alrp-loss_faster-rcnn_r18_fpn_digits.py': 8,
    'rs_loss/rs-loss_atss_r18_fpn_digits.py': 16,
    'rs_loss/rs-loss_faster-rcnn_r18_fpn_digits.py': 8,
}


def _digits_batch(name, root, model):
    """4 training canvases of the tiny digits set, resized to 96 px."""
    cfg = load_config(name).train_dataloader.dataset
    cfg.data_root = str(root)
    cfg.ann_file = 'annotations/train.json'
    cfg.data_prefix = dict(img='train/')
    for transform in cfg.pipeline:
        if transform['type'] == 'Resize':
            transform['scale'] = (96, 96)
    dataset = DATASETS.build(cfg)
    batch = pseudo_collate([dataset[i] for i in range(NUM_IMAGES)])
    return model.data_preprocessor(batch, True)


def _method_loss(model, total):
    """The loss the method minimises, without the balancing weight.

    With aLRP Loss that is L_cls + L_loc of each head (the LRP error of the
    ranking, paper eq. 7): the weighted total L_cls + 50 L_loc may rise at
    first, because L_loc is normalised by ranks that shrink as negatives
    are pushed below the positives. Other losses: the total (for RS Loss
    twice L_rank + L_sort, as the box loss is balanced to their value).
    """
    heads = ranking_heads(model, self_balancing_only=True).values()
    if not heads:
        return total.item()
    return sum(float(head.pop_balance_terms().sum()) for head in heads)


@pytest.mark.parametrize('name', sorted(STEPS))
def test_training_lowers_loss(name, tiny_digits):
    model = build_detector(name, seed=1)
    data = _digits_batch(name, tiny_digits, model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    values = []
    for _ in range(STEPS[name]):
        total, _ = model.parse_losses(
            model.loss(data['inputs'], data['data_samples']))
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        assert torch.isfinite(total)
        values.append(_method_loss(model, total))
    assert sum(values[-3:]) < 0.9 * sum(values[:3]), values
