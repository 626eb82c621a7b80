"""QR codes of massline addresses, for chat groups, paper notices and the meeting room's screen."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Response


def qr_response(address: str) -> Response:
    """An SVG QR code of the address, cacheable for a day (addresses do not change)."""
    image = qrcode.make(address, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    response = Response(buffer.getvalue(), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
