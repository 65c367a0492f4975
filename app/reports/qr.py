"""QR codes and printable posters for counters (loket).

Rendering only: callers pass the texts and URLs, nothing here touches the database.
"""

import io
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

# qrcode and fpdf are imported where a code or a poster is drawn: every server worker imports
# this module (for survey URLs), and fpdf alone took a fifth of a worker's start-up.
if TYPE_CHECKING:
    import qrcode

INSTRUCTION = "Pindai kode ini untuk mengisi Survei Kepuasan Masyarakat"
SUBTITLE = "Survei ini anonim dan hanya memerlukan waktu sekitar satu menit."
QR_SIZE_MM = 100  # scannable from arm's length with an ordinary phone camera


def survey_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"


def is_local_url(url: str) -> bool:
    """Whether a URL points at the computer that opens it (127.0.0.1, ::1, localhost, or the
    unspecified 0.0.0.0): printed on a poster, a phone would look for the survey on itself."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a domain name
        return False
    return address.is_loopback or address.is_unspecified


def _code(url: str) -> "qrcode.QRCode":
    import qrcode

    # Error correction M survives a scuffed or partly covered print at a modest size.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    _code(url).make_image().save(buffer)
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    import qrcode.image.svg

    buffer = io.BytesIO()
    _code(url).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Poster:
    unit_name: str
    counter_name: str
    service_name: str | None
    url: str


def _latin1(text: str) -> str:
    # The PDF core fonts cover Latin-1, which holds Bahasa Indonesia; anything else is replaced
    # rather than failing the whole print run.
    return text.encode("latin-1", "replace").decode("latin-1")


def posters_pdf(posters: list[Poster]) -> bytes:
    """One A5 portrait page per counter: names, instruction, a large QR code, the URL."""
    if not posters:
        raise ValueError("no counters to print")
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format=(148, 210))  # A5
    pdf.set_auto_page_break(auto=False)
    pdf.set_title("Poster Survei Kepuasan Masyarakat")
    width = pdf.w - 2 * pdf.l_margin
    for poster in posters:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(
            width, 8, _latin1(poster.unit_name), align="C", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font("Helvetica", "", 13)
        line = poster.counter_name + (f" - {poster.service_name}" if poster.service_name else "")
        pdf.multi_cell(width, 7, _latin1(line), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(width, 7, INSTRUCTION, align="C", new_x="LMARGIN", new_y="NEXT")
        left = (pdf.w - QR_SIZE_MM) / 2
        pdf.image(io.BytesIO(qr_png(poster.url)), x=left, y=pdf.get_y() + 4, w=QR_SIZE_MM)
        pdf.set_y(pdf.get_y() + QR_SIZE_MM + 8)
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(
            width, 5, "Atau buka alamat ini di peramban:", align="C", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font("Courier", "B", 10)
        pdf.multi_cell(width, 5, poster.url, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_font("Helvetica", "I", 9)
        pdf.multi_cell(width, 5, SUBTITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
