"""Barcodes (Code 128, SVG) for document and dossier numbers."""

from __future__ import annotations

import io

from barcode import Code128
from barcode.writer import SVGWriter


def barcode_svg(number: str) -> bytes:
    """The Code 128 barcode of `number` as an SVG image."""
    out = io.BytesIO()
    Code128(number, writer=SVGWriter()).write(out, options={"module_height": 12.0, "font_size": 8, "text_distance": 4})
    return out.getvalue()
