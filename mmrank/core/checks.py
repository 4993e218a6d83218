"""Input checks shared by the losses."""
import torch
from torch import Tensor


def check_finite(values: Tensor, name: str) -> None:
    """Refuse NaN or infinite scores, which would make a loss NaN.

    One float64 reduction first (a float64 sum of finite values overflows
    only for float64 inputs near the limit of the type); the elementwise
    test runs only when that sum is not finite.

    Raises:
        ValueError: Naming ``name``.
    """
    if not bool(torch.isfinite(values.detach().sum(dtype=torch.float64))) \
            and not bool(torch.isfinite(values).all()):
        raise ValueError(f'{name} contain NaN or infinite values')
