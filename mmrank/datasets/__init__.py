"""Datasets and dataset generators."""
from .digits_detection import CLASSES as DIGIT_CLASSES
from .digits_detection import generate_digits_detection
from .mnist_5k import MNIST5k, BinarizeLabel  # noqa: F401
from .cifar10_npz import CIFAR10Npz  # noqa: F401
