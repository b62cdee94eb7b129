"""The typeface generated graphics are set in: Debian's DejaVu Sans Bold where installed
(fonts-dejavu-core), else the font Pillow ships (``ImageFont.load_default``), so rendering
works on any machine and is the same for the same input on one machine."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PIL import ImageFont

DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def font(size: int, *, bold: bool = True) -> Font:
    """The font at ``size`` pixels (cached: layout tries many sizes)."""
    path = DEJAVU_BOLD if bold else DEJAVU
    if path.exists():
        return ImageFont.truetype(str(path), size)
    # Pillow >= 10.1 ships a scalable default font (with FreeType); older or FreeType-less
    # builds give the fixed bitmap one, which still renders, only smaller.
    return ImageFont.load_default(size=size)
