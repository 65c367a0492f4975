"""A unit's logo: which uploads are accepted, and how one is drawn into a PDF.

The type is found from the content, never from the name or the declared content type: PNG
and JPEG by their signature and a full decode with Pillow (bounded in bytes and pixels, so a
decompression bomb is refused before it is decoded); SVG by parsing it with defusedxml (no
DTD, no entities) and refusing anything that runs or fetches: scripts, event attributes,
``foreignObject``, embedded or linked images, and any reference that is not to an id inside
the file. An SVG is then drawn once by fpdf2 with every resource access off: what cannot be
drawn is refused at upload, not when a report is made. fpdf2 draws SVG itself, so no
rasteriser dependency is needed.
"""

import io
import re
from dataclasses import dataclass

import defusedxml.ElementTree
from defusedxml import DefusedXmlException
from fpdf import FPDF
from fpdf.enums import ResourceAccessPolicy
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 512 * 1024
MAX_SIDE = 4000  # pixels, either side
MAX_PIXELS = 4_000_000
MAX_SVG_ELEMENTS = 20_000
PNG, JPEG, SVG = "image/png", "image/jpeg", "image/svg+xml"
MEDIA_TYPES = (PNG, JPEG, SVG)
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", PNG, "PNG"), (b"\xff\xd8\xff", JPEG, "JPEG"))
_SVG_NS = "{http://www.w3.org/2000/svg}"
# Elements that run code, embed other documents or load other files.
_REFUSED = {"script", "foreignobject", "image", "iframe", "object", "embed", "audio", "video"}
_HREF = re.compile(r"(^|})href$")
_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)


class LogoError(ValueError):
    """Why an upload is not accepted as a logo (one sentence, shown to the user)."""


@dataclass(frozen=True)
class Logo:
    media_type: str  # PNG, JPEG or SVG
    content: bytes


def check_logo(content: bytes) -> Logo:
    """The logo in ``content`` if it is an acceptable PNG, JPEG or SVG; else LogoError."""
    if not content:
        raise LogoError("the logo is empty")
    if len(content) > MAX_BYTES:
        raise LogoError(
            f"the logo is {len(content) // 1024} KB; at most {MAX_BYTES // 1024} KB is accepted"
        )
    for signature, media_type, pillow_format in _SIGNATURES:
        if content.startswith(signature):
            _check_raster(content, pillow_format)
            return Logo(media_type, content)
    if _looks_like_xml(content):
        _check_svg(content)
        return Logo(SVG, content)
    raise LogoError("a logo must be a PNG, JPEG or SVG image")


def draw(pdf: FPDF, logo: Logo, *, x: float, y: float, h: float) -> None:
    """Draw the logo ``h`` high (its own proportions) with its top-left corner at (x, y)."""
    source: bytes | io.BytesIO = (
        logo.content if logo.media_type == SVG else io.BytesIO(logo.content)
    )
    pdf.image(source, x=x, y=y, h=h, keep_aspect_ratio=True)


def aspect(logo: Logo) -> float:
    """Width over height, for laying the logo out before drawing it."""
    probe = FPDF()
    probe.resource_access_policy = ResourceAccessPolicy.NONE
    probe.add_page()
    info = probe.image(
        logo.content if logo.media_type == SVG else io.BytesIO(logo.content), x=0, y=0, h=10
    )
    return float(info.rendered_width) / float(info.rendered_height)


def _check_raster(content: bytes, pillow_format: str) -> None:
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format != pillow_format:
                raise LogoError(f"the file starts as a {pillow_format} but is not one")
            width, height = image.size
            if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                raise LogoError(
                    f"the logo is {width} x {height} pixels; at most {MAX_SIDE} pixels a side "
                    f"and {MAX_PIXELS // 1_000_000} million pixels are accepted"
                )
            image.load()  # a truncated or corrupt file fails here, not in a report
    except LogoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise LogoError(f"the {pillow_format} image cannot be read: {exc}") from None


def _looks_like_xml(content: bytes) -> bool:
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _check_svg(content: bytes) -> None:
    try:
        root = defusedxml.ElementTree.fromstring(content)
    except DefusedXmlException:
        raise LogoError("the SVG declares a DTD or entities, which are not accepted") from None
    except Exception as exc:  # ElementTree.ParseError and decoding errors alike
        raise LogoError(f"the SVG is not well-formed XML: {exc}") from None
    if root.tag != f"{_SVG_NS}svg" and root.tag != "svg":
        raise LogoError("a logo must be a PNG, JPEG or SVG image (this XML is not SVG)")
    for count, element in enumerate(root.iter(), start=1):
        if count > MAX_SVG_ELEMENTS:
            raise LogoError(f"the SVG has more than {MAX_SVG_ELEMENTS} elements")
        tag = str(element.tag).rpartition("}")[2].lower()
        if tag in _REFUSED:
            raise LogoError(f"the SVG contains <{tag}>; scripts and linked content are refused")
        for name, value in element.attrib.items():
            local = name.rpartition("}")[2].lower()
            if local.startswith("on"):
                raise LogoError(f"the SVG has an event attribute ({local}); scripts are refused")
            if _HREF.search(name) and not value.strip().startswith("#"):
                raise LogoError("the SVG refers to another file or address; only #ids inside it")
            _check_urls(value)
        if tag == "style" and element.text:
            _check_urls(element.text)
            if "@import" in element.text.lower():
                raise LogoError("the SVG imports a style sheet; only its own styles are accepted")
    _try_drawing(content)


def _check_urls(value: str) -> None:
    for target in _URL.findall(value):
        if not target.startswith("#"):
            raise LogoError("the SVG refers to another file or address; only #ids inside it")


def _try_drawing(content: bytes) -> None:
    pdf = FPDF()
    pdf.resource_access_policy = ResourceAccessPolicy.NONE
    pdf.add_page()
    try:
        pdf.image(content, x=10, y=10, h=20)
        pdf.output()
    except Exception as exc:  # fpdf2's SVG support is partial; anything it cannot draw
        raise LogoError(f"the SVG cannot be drawn: {exc}") from None
