"""mysfits-lab: the Mythical Mysfits workshop as a parameterized notebook workbook."""

from .lab import Lab, LabError
from .outputs import MissingOutput

__version__ = "0.1.0"
__all__ = ["Lab", "LabError", "MissingOutput", "__version__"]
