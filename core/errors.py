"""One root error for admon, with subclasses that are also the matching builtin.

Callers may catch ``AdmonError`` for anything admon raises on purpose, or the
builtin (``ValueError``, ``OSError``, ``LookupError``) they already handle.
Messages name the file, the row or band, and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "AdmonError",
    "InvalidInputError",
    "ImageryError",
    "NoOverlapError",
    "AllMaskedError",
    "StoreBusyError",
    "ConfigError",
    "StoreError",
    "NotFoundError",
    "EstimationError",
]


class AdmonError(Exception):
    """Root of every error admon raises on purpose."""


class InvalidInputError(AdmonError, ValueError):
    """Input data (a field export, a table, a raster) cannot be used as given."""


class ImageryError(AdmonError, OSError):
    """An image file is missing, corrupt, unreadable or inconsistent."""


class NoOverlapError(ImageryError):
    """The scene's footprint does not intersect the analysis grid."""


class AllMaskedError(ImageryError):
    """The scene has no clear pixel over the analysis grid (cloud, no data)."""


class ConfigError(AdmonError, ValueError):
    """A run configuration is invalid; the message names the key and the fix."""


class StoreError(AdmonError, OSError):
    """The store (GeoPackage or PostGIS) could not complete an operation."""


class StoreBusyError(StoreError):
    """Another writer held the store's lock longer than the wait allowed; try again later."""

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """Seconds a client should wait before trying again (HTTP ``Retry-After``)."""


class NotFoundError(AdmonError, LookupError):
    """A requested record (upload, run, programme) does not exist."""


class EstimationError(AdmonError, ValueError):
    """An area estimate cannot be computed from the given sample or map."""
