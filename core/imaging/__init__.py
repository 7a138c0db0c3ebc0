"""Image readers returning the full-bit-depth array and metadata.

Public API (other packages import only these names):

- ``read(path, frame=0) -> RawImage``
- ``RawImage``, ``PatientTags``
- ``SUPPORTED_SUFFIXES``
"""

from core.imaging.raw import PatientTags, RawImage

__all__ = ["PatientTags", "RawImage"]
