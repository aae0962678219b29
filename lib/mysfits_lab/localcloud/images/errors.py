"""The image store's failures, in a module of their own so the builder and the store share them
without importing each other."""

from __future__ import annotations


class ImageError(Exception):
    """A docker-like failure; the message is what the docker CLI would print."""


class BuildError(ImageError):
    pass


class PushError(ImageError):
    pass
