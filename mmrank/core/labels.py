"""Hard class labels shared by the classification losses: one-hot masks
(:func:`labels_to_onehot`) and class indices (:func:`hard_labels`)."""
import torch.nn.functional as F
from torch import Tensor


def labels_to_onehot(target: Tensor, num_classes: int) -> Tensor:
    """Convert hard labels ``(N,)`` or one-hot targets ``(N, C)`` to bool.

    Args:
        target: Class indices of shape ``(N,)`` or one-hot ``(N, C)``.
        num_classes: ``C``.

    Returns:
        Bool tensor ``(N, C)`` with exactly one True per row.

    Raises:
        ValueError: If ``target`` holds out-of-range indices, soft labels
            (mixup, label smoothing) or rows without exactly one positive.
    """
    if target.dim() == 1:
        if target.dtype.is_floating_point:
            raise ValueError('target of shape (N,) must hold integer class '
                             f'indices, got dtype {target.dtype}')
        if target.numel() and (target.min() < 0
                               or target.max() >= num_classes):
            raise ValueError(f'target class indices must lie in [0, '
                             f'{num_classes}), got min {int(target.min())} '
                             f'and max {int(target.max())}')
        return F.one_hot(target.long(), num_classes).bool()
    if target.dim() == 2 and target.shape[1] == num_classes:
        onehot = target == 1
        binary = ((target == 0) | onehot).all()
        if not binary or not (onehot.sum(1) == 1).all():
            raise ValueError(
                'target of shape (N, C) must be one-hot: the loss needs one '
                'hard target class per sample (mixup/cutmix and label '
                'smoothing produce soft targets, which it does not define)')
        return onehot
    raise ValueError(f'target must have shape (N,) or (N, {num_classes}), '
                     f'got {tuple(target.shape)}')


def hard_labels(label: Tensor, num_classes: int) -> Tensor:
    """Class indices from ``(N,)`` indices or ``(N, C)`` one-hot targets.

    Raises:
        ValueError: For soft targets (mixup, label smoothing), which a
            metric on hard decisions cannot use, and out-of-range indices.
    """
    return labels_to_onehot(label, num_classes).int().argmax(1)
