"""mmrank: ranking-based and metric-driven losses for OpenMMLab 3.x."""
from .version import __version__

__all__ = ['__version__']
