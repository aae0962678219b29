"""Container images on the local cloud (see ``store.py``): the public names other parts use."""

from .store import (
    BuildError,
    Image,
    ImageError,
    ImageStore,
    PushError,
    Reference,
    ecr_registry,
    parse_reference,
    registry_host,
)

__all__ = [
    "BuildError",
    "Image",
    "ImageError",
    "ImageStore",
    "PushError",
    "Reference",
    "ecr_registry",
    "parse_reference",
    "registry_host",
]
