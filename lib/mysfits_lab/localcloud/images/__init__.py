"""Container images on the local cloud (see ``store.py``): the public names other parts use."""

from .errors import BuildError, ImageError, PushError
from .references import Reference, ecr_registry, parse_reference, registry_host
from .store import Image, ImageStore

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
