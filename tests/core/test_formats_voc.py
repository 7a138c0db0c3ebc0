"""PASCAL VOC reading/writing: devkit coordinates, byte stability, other tools' files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.errors import FormatError
from core.formats import safe_xml
from core.formats.voc import (
    VocObject,
    from_voc_pixels,
    read_voc,
    read_voc_bytes,
    to_voc_pixels,
    voc_xml,
)

DEVKIT_000001 = b"""<annotation>
\t<folder>VOC2007</folder>
\t<filename>000001.jpg</filename>
\t<source>
\t\t<database>The VOC2007 Database</database>
\t\t<annotation>PASCAL VOC2007</annotation>
\t\t<image>flickr</image>
\t</source>
\t<owner>
\t\t<flickrid>Fried Camels</flickrid>
\t\t<name>Jinky the Fruit Bat</name>
\t</owner>
\t<size>
\t\t<width>353</width>
\t\t<height>500</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
\t<object>
\t\t<name>dog</name>
\t\t<pose>Left</pose>
\t\t<truncated>1</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox>
\t\t\t<xmin>48</xmin>
\t\t\t<ymin>240</ymin>
\t\t\t<xmax>195</xmax>
\t\t\t<ymax>371</ymax>
\t\t</bndbox>
\t</object>
\t<object>
\t\t<name>person</name>
\t\t<pose>Left</pose>
\t\t<truncated>1</truncated>
\t\t<difficult>1</difficult>
\t\t<bndbox>
\t\t\t<xmin>8</xmin>
\t\t\t<ymin>12</ymin>
\t\t\t<xmax>352</xmax>
\t\t\t<ymax>498</ymax>
\t\t</bndbox>
\t\t<part>
\t\t\t<name>head</name>
\t\t\t<bndbox><xmin>100</xmin><ymin>20</ymin><xmax>150</xmax><ymax>80</ymax></bndbox>
\t\t</part>
\t</object>
</annotation>
"""

# As CVAT (datumaro) writes it: float corners, empty depth, nested <annotation> in <source>,
# <occluded> and an <attributes> block.
CVAT_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<annotation>
  <folder></folder>
  <filename>frame_000000.png</filename>
  <source>
    <database>Unknown</database>
    <annotation>Unknown</annotation>
    <image>Unknown</image>
  </source>
  <size>
    <width>640</width>
    <height>480</height>
    <depth></depth>
  </size>
  <segmented>0</segmented>
  <object>
    <name>watch</name>
    <truncated>0</truncated>
    <occluded>1</occluded>
    <difficult>0</difficult>
    <bndbox>
      <xmin>426.09</xmin>
      <ymin>409.99</ymin>
      <xmax>553.39</xmax>
      <ymax>477.02</ymax>
    </bndbox>
    <attributes>
      <attribute><name>rotation</name><value>0.0</value></attribute>
    </attributes>
  </object>
</annotation>
"""

# As Roboflow writes it: xmin, xmax, ymin, ymax order, <path>, occluded.
ROBOFLOW_XML = b"""<annotation>
\t<folder></folder>
\t<filename>img_jpg.rf.0a1b2c.jpg</filename>
\t<path>img_jpg.rf.0a1b2c.jpg</path>
\t<source>
\t\t<database>roboflow.com</database>
\t</source>
\t<size>
\t\t<width>416</width>
\t\t<height>416</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
\t<object>
\t\t<name>key</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>0</truncated>
\t\t<difficult>0</difficult>
\t\t<occluded>0</occluded>
\t\t<bndbox>
\t\t\t<xmin>66</xmin>
\t\t\t<xmax>136</xmax>
\t\t\t<ymin>78</ymin>
\t\t\t<ymax>163</ymax>
\t\t</bndbox>
\t</object>
</annotation>
"""


def test_pixels_0_to_9_are_voc_1_to_10() -> None:
    assert to_voc_pixels(0.0, 0.0, 10.0, 10.0) == (1, 1, 10, 10)
    assert from_voc_pixels(1, 1, 10, 10) == (0.0, 0.0, 10.0, 10.0)


def test_integer_voc_coordinates_survive_import_and_export() -> None:
    for xmin, xmax in [(1, 1), (1, 10), (48, 195), (353, 353)]:
        x1, y1, x2, y2 = from_voc_pixels(xmin, xmin, xmax, xmax)
        assert to_voc_pixels(x1, y1, x2, y2) == (xmin, xmin, xmax, xmax)


def test_sub_pixel_box_exports_the_one_pixel_that_holds_it() -> None:
    # [5.2, 5.4] and [5.6, 5.9] both lie in 0-based pixel 5, i.e. VOC index 6.
    assert to_voc_pixels(5.2, 5.2, 5.4, 5.4) == (6, 6, 6, 6)
    assert to_voc_pixels(5.6, 5.6, 5.9, 5.9) == (6, 6, 6, 6)


def test_sliver_at_the_right_and_bottom_edge_stays_inside_the_image() -> None:
    # A clamped box [W - 0.3, W] on a 100 px image: VOC indices run 1..100, never 101.
    assert to_voc_pixels(99.7, 99.7, 100.0, 100.0) == (100, 100, 100, 100)
    assert to_voc_pixels(0.0, 0.0, 0.3, 0.3) == (1, 1, 1, 1)


def test_half_pixels_round_up_not_to_even() -> None:
    assert to_voc_pixels(2.5, 3.5, 6.5, 7.5) == (4, 5, 7, 8)


def test_devkit_file_reads_objects_but_not_parts() -> None:
    ann = read_voc_bytes(DEVKIT_000001, "000001.xml")
    assert (ann.image_name, ann.width, ann.height, ann.depth) == ("000001.jpg", 353, 500, 3)
    assert [b.label for b in ann.boxes] == ["dog", "person"]
    dog, person = ann.boxes
    assert (dog.x1, dog.y1, dog.x2, dog.y2) == (47.0, 239.0, 195.0, 371.0)
    assert dog.pose == "Left" and dog.truncated and not dog.difficult
    assert person.difficult
    assert dog.line == 19


def test_cvat_float_coordinates_and_extra_tags_are_tolerated() -> None:
    ann = read_voc_bytes(CVAT_XML, "cvat.xml")
    assert ann.depth is None and (ann.width, ann.height) == (640, 480)
    (box,) = ann.boxes
    assert box.label == "watch" and box.occluded and box.pose == "Unspecified"
    assert box.x1 == pytest.approx(425.09) and box.x2 == pytest.approx(553.39)


def test_roboflow_child_order_xmin_xmax_ymin_ymax_is_read_by_name() -> None:
    (box,) = read_voc_bytes(ROBOFLOW_XML, "rf.xml").boxes
    assert (box.x1, box.y1, box.x2, box.y2) == (65.0, 77.0, 136.0, 163.0)


def test_written_voc_reads_back_and_rewrites_byte_identical() -> None:
    objs = [
        VocObject("zipper", 1, 1, 10, 10),
        VocObject("belt & <buckle>", 5, 6, 20, 30, pose="Left", truncated=True, difficult=True),
        VocObject("ankle monitor", 3, 4, 5, 6, occluded=True),
    ]
    data = voc_xml(filename="a b.png", width=64, height=48, depth=1, objects=objs)
    ann = read_voc_bytes(data, "x.xml")
    again = voc_xml(
        filename=ann.image_name or "",
        width=ann.width or 0,
        height=ann.height or 0,
        depth=ann.depth or 0,
        objects=[
            VocObject(
                b.label,
                *to_voc_pixels(b.x1, b.y1, b.x2, b.y2),
                b.pose,
                b.truncated,
                b.difficult,
                b.occluded,
            )
            for b in ann.boxes
        ],
    )
    assert again == data
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<annotation>\n\t<folder>')
    assert b"belt &amp; &lt;buckle&gt;" in data


def test_labelimg_writer_files_import_with_the_same_boxes(tmp_path: Path) -> None:
    """Files written by LabelImg's own PascalVocWriter (libs.pascal_voc_io, PyPI labelImg)."""
    from libs.pascal_voc_io import PascalVocWriter  # needs only lxml, not PyQt

    assert "PyQt5" not in sys.modules
    writer = PascalVocWriter("images", "scan1.png", (480, 640, 3), local_img_path="/x/scan1.png")
    drawn = [(10, 20, 110, 220, "zipper", False), (1, 1, 640, 480, "belt buckle", True)]
    for xmin, ymin, xmax, ymax, name, difficult in drawn:
        writer.add_bnd_box(xmin, ymin, xmax, ymax, name, difficult)
    target = tmp_path / "scan1.xml"
    writer.save(target_file=str(target))

    ann = read_voc(target)
    assert (ann.image_name, ann.width, ann.height, ann.depth) == ("scan1.png", 640, 480, 3)
    got = [(b.x1 + 1, b.y1 + 1, b.x2, b.y2, b.label, b.difficult) for b in ann.boxes]
    assert got == [tuple(float(v) if isinstance(v, int) else v for v in d) for d in drawn]
    # LabelImg marks boxes touching the border as truncated; we keep its flag.
    assert [b.truncated for b in ann.boxes] == [False, True]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"<annotation><object><name>a</name>\n<bndbox></annotation>", "line 2: malformed XML"),
        (b"<notvoc/>", "not a Pascal VOC file"),
        (
            b"<annotation>\n<object>\n<name>a</name>\n</object></annotation>",
            "line 2: object 'a' has no <bndbox>",
        ),
        (
            b"<annotation>\n<object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>",
            "line 2: object has no <name>",
        ),
        (
            b"<annotation>\n<object><name>a</name>\n<bndbox><xmin>9</xmin><ymin>1</ymin><xmax>2</xmax><ymax>5</ymax></bndbox></object></annotation>",
            "line 3: box 'a' has xmax < xmin",
        ),
        (
            b"<annotation><object><name>a</name><bndbox>\n<xmin>one</xmin><ymin>1</ymin><xmax>2</xmax><ymax>5</ymax></bndbox></object></annotation>",
            "line 2: <xmin> is 'one', not a number",
        ),
        (b"", "empty"),
    ],
)
def test_bad_voc_names_file_and_line(content: bytes, needle: str, tmp_path: Path) -> None:
    p = tmp_path / "bad.xml"
    p.write_bytes(content)
    with pytest.raises(FormatError) as err:
        read_voc(p)
    assert str(p) in str(err.value)
    assert needle in str(err.value)


def test_xxe_is_refused_and_the_secret_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    p = tmp_path / "xxe.xml"
    p.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        "<annotation><filename>&xxe;</filename></annotation>"
    )
    with pytest.raises(FormatError, match=r"xxe.xml, line 2: XML with a DOCTYPE") as err:
        read_voc(p)
    assert "TOPSECRET" not in str(err.value)


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    ents = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    p = tmp_path / "lol.xml"
    p.write_text(f"<?xml version='1.0'?><!DOCTYPE lolz [{ents}]><annotation>&lol9;</annotation>")
    with pytest.raises(FormatError, match="refused for safety"):
        read_voc(p)


def test_utf16_doctype_is_still_refused() -> None:
    data = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE a><annotation/>'.encode("utf-16")
    with pytest.raises(FormatError, match="DOCTYPE"):
        read_voc_bytes(data, "u16.xml")


def test_oversized_xml_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(safe_xml, "MAX_XML_BYTES", 100)
    p = tmp_path / "big.xml"
    p.write_bytes(b"<annotation>" + b" " * 200 + b"</annotation>")
    with pytest.raises(FormatError, match=r"big\.xml: annotation file is .* over the"):
        read_voc(p)
