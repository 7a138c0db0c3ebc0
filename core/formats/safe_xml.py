"""Hardened XML parsing for annotation files from outside (VOC from any tool).

Annotation files come from other machines and tools, so they are treated as hostile:
no DTD loading, no entity expansion (billion laughs), no network or file access (XXE),
no huge trees, and a size cap. A file that declares a DOCTYPE or entities is refused
outright rather than parsed "safely", because no annotation tool needs one.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from core.errors import FormatError

MAX_XML_BYTES = 10 * 1024 * 1024  # a VOC file with thousands of boxes is well under 1 MB


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe and imports hash/parse in
    # worker threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def _sniff_text(data: bytes) -> bytes:
    """The document as ASCII-compatible bytes for the DOCTYPE scan (handles UTF-16/32)."""
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace").encode("utf-8", errors="replace")
    if data[:2] in (b"<\x00", b"\x00<"):  # UTF-16 without a byte-order mark
        codec = "utf-16-le" if data[0:1] == b"<" else "utf-16-be"
        return data.decode(codec, errors="replace").encode("utf-8", errors="replace")
    return data


def parse_xml_bytes(data: bytes, name: str) -> etree._Element:
    """Parse ``data`` (the content of file ``name``) and return the root element.

    Raises FormatError naming the file (and the line for syntax errors) when the content is
    too large, malformed, or declares a DOCTYPE/entities.
    """
    if len(data) > MAX_XML_BYTES:
        raise FormatError(
            f"{name}: annotation file is {len(data) / 1e6:.1f} MB, over the "
            f"{MAX_XML_BYTES // (1024 * 1024)} MB limit for one XML file"
        )
    text = _sniff_text(data)
    upper = text.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise FormatError(
            f"{name}, line {_line_of(text, upper)}: XML with a DOCTYPE or entity declarations "
            "is refused for safety (no annotation tool needs one)"
        )
    if not text.strip():
        raise FormatError(f"{name}: the file is empty")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if getattr(exc, "lineno", None) else "?"
        reason = str(getattr(exc, "msg", "") or exc).split(", line ")[0]
        raise FormatError(f"{name}, line {line}: malformed XML ({reason})") from None
    except ValueError as exc:  # e.g. an encoding lxml cannot handle
        raise FormatError(f"{name}: malformed XML ({exc})") from None
    if root is None:
        raise FormatError(f"{name}: the file has no XML element")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise FormatError(f"{name}: XML with a DOCTYPE is refused for safety")
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise FormatError(
                f"{name}, line {node.sourceline}: XML entity references are refused for safety"
            )
    return root


def parse_xml_file(path: str | Path) -> etree._Element:
    """Read and parse an XML file with the size limit checked before reading it."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_XML_BYTES:
            raise FormatError(
                f"{p}: annotation file is {size / 1e6:.1f} MB, over the "
                f"{MAX_XML_BYTES // (1024 * 1024)} MB limit for one XML file"
            )
        data = p.read_bytes()
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    return parse_xml_bytes(data, str(p))


def _line_of(text: bytes, upper: bytes) -> int:
    idx = min(i for i in (upper.find(b"<!DOCTYPE"), upper.find(b"<!ENTITY")) if i >= 0)
    return text.count(b"\n", 0, idx) + 1
