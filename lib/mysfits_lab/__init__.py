"""mysfits-lab: the Mythical Mysfits workshop as a parameterized notebook workbook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .lab import Lab, LabError
    from .outputs import MissingOutput

__version__ = "0.1.0"
__all__ = ["Lab", "LabError", "MissingOutput", "__version__"]


def __getattr__(name: str) -> Any:
    """``Lab`` loads boto3: imported on first use, so that a process that runs a submodule (the
    local cloud's ``docker`` and ``aws`` shims, once per build command) starts fast."""
    if name in ("Lab", "LabError"):
        from . import lab

        return getattr(lab, name)
    if name == "MissingOutput":
        from .outputs import MissingOutput

        return MissingOutput
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
