"""Training-loop extensions."""
from . import hooks  # noqa: F401
