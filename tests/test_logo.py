"""Tests of app.reports.logo: which uploads become a logo, found from their content."""

import io

import pytest
from PIL import Image

from app.reports.logo import MAX_BYTES, LogoError, aspect, check_logo

SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 50" width="100" height="50">'
    b'<defs><linearGradient id="g"><stop offset="0" stop-color="#0d47a1"/>'
    b'<stop offset="1" stop-color="#ffc107"/></linearGradient></defs>'
    b'<rect width="100" height="50" fill="url(#g)"/><circle cx="50" cy="25" r="20"/></svg>'
)


def raster(kind: str, size: tuple[int, int] = (200, 100)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (13, 71, 161)).save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "media_type"),
    [(raster("PNG"), "image/png"), (raster("JPEG"), "image/jpeg"), (SVG, "image/svg+xml")],
)
def test_png_jpeg_and_svg_are_accepted_by_their_content(content: bytes, media_type: str) -> None:
    logo = check_logo(content)
    assert (logo.media_type, logo.content) == (media_type, content)
    assert aspect(logo) == pytest.approx(2.0)


XLINK = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the logo is empty"),
        (b"GIF89a" + b"\0" * 20, "a logo must be a PNG, JPEG or SVG image"),
        (raster("PNG")[:60], "the PNG image cannot be read"),
        (b"\x89PNG\r\n\x1a\n" + b"junk" * 10, "the PNG image cannot be read"),
        (raster("PNG", (4001, 10)), "at most 4000 pixels a side"),
        (raster("PNG", (2500, 2000)), "4 million pixels"),
        (b"\0" * (MAX_BYTES + 1), f"at most {MAX_BYTES // 1024} KB"),
        (b"<html><body/></html>", "this XML is not SVG"),
        (b"<svg", "not well-formed XML"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "contains <script>",
        ),
        (
            f'<svg {XLINK}><image xlink:href="file:///etc/passwd" width="9"/></svg>'.encode(),
            "contains <image>",
        ),
        (
            f'<svg {XLINK}><use xlink:href="https://example.org/a.svg#x"/></svg>'.encode(),
            "refers to another file",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><rect onclick="x()" width="1" height="1"/>'
            b"</svg>",
            "event attribute (onclick)",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(http://x.test/p)" '
            b'width="1" height="1"/></svg>',
            "refers to another file",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import "http://x.test/a.css";'
            b"</style></svg>",
            "imports a style sheet",
        ),
        (
            b'<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
            "declares a DTD or entities",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject>'
            b"</svg>",
            "contains <foreignobject>",
        ),
    ],
)  # fmt: skip
def test_other_content_is_refused_with_the_reason(content: bytes, reason: str) -> None:
    with pytest.raises(LogoError) as info:
        check_logo(content)
    assert reason in str(info.value)
