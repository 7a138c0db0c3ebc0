"""Which compressed DICOM transfer syntaxes can be decoded here, and a clear error if not."""

from __future__ import annotations

from pydicom.pixels import get_decoder
from pydicom.uid import UID

from core.errors import MissingCodecError


def describe(ts: UID | None) -> str:
    if ts is None:
        return "no transfer syntax (assumed uncompressed)"
    name = ts.name if ts.name != str(ts) else "an unknown compression"
    return f"{name} (transfer syntax {ts})"


def check_decoder(ts: UID | None, name: str) -> None:
    """Raise MissingCodecError naming the compression and what to install for it."""
    if ts is None:
        return
    if not ts.is_transfer_syntax:
        # Not a compression at all (a typo, a private UID): "no decoder for an unknown
        # compression" would send the user looking for a codec that does not exist.
        raise MissingCodecError(
            f"'{name}' names transfer syntax {ts}, which is not a DICOM transfer syntax "
            "(a damaged header or a private encoding), so its image data cannot be decoded."
        )
    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise MissingCodecError(
            f"'{name}' is compressed with {describe(ts)}, for which no DICOM decoder exists "
            "in this installation; ask the sender for an uncompressed or JPEG 2000 copy."
        ) from None
    if decoder.is_available:
        return
    needs = "; ".join(decoder.missing_dependencies) or "a pydicom pixel-data plugin"
    raise MissingCodecError(
        f"'{name}' is compressed with {describe(ts)}, but the decoder for it is not "
        f"installed. Install one of: {needs}."
    )
