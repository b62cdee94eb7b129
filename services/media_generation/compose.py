"""A branded graphic drawn with Pillow, no model needed: the brand's colours as background
and accent, its logo in a corner, its name as a footer, and the post's headline set as
large as fits the network's shape (wrapped at word boundaries, shrunk until it fits, cut
with an ellipsis only when even the smallest size does not).

Everything is computed from the input alone (no clock, no randomness), so the same input
renders the same pixels: tests compare sizes and colours, and regenerating is idempotent.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from services.media_generation.fonts import Font, font

Style = Literal["bold", "minimal", "gradient"]
RGB = tuple[int, int, int]

DEFAULT_MAIN: RGB = (30, 41, 59)  # slate: reads well under white text
DEFAULT_ACCENT: RGB = (245, 158, 11)  # amber
PAPER: RGB = (248, 250, 252)
WHITE: RGB = (255, 255, 255)
INK: RGB = (17, 24, 39)
HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
ELLIPSIS = "…"


def parse_color(value: str) -> RGB:
    """``#RRGGBB`` (or without the #) as an RGB triple; ValueError otherwise."""
    found = HEX.match(value.strip())
    if found is None:
        raise ValueError(f"{value!r} is not a #RRGGBB colour")
    raw = found.group(1)
    return (int(raw[0:2], 16), int(raw[2:4], 16), int(raw[4:6], 16))


def _luminance(color: RGB) -> float:
    """WCAG relative luminance."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = color
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio (1 to 21)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable_on(grounds: tuple[RGB, ...], *candidates: RGB) -> RGB:
    """The candidate (white and ink by default) whose weakest contrast with the colours of
    the background (both ends of a gradient) is the strongest."""
    return max(candidates or (WHITE, INK), key=lambda c: min(contrast(c, g) for g in grounds))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


@dataclass(frozen=True)
class Brand:
    """What a graphic shows of the organization."""

    name: str
    colors: tuple[str, ...] = ()
    logo: bytes | None = field(default=None, repr=False)

    @property
    def main(self) -> RGB:
        return parse_color(self.colors[0]) if self.colors else DEFAULT_MAIN

    @property
    def accent(self) -> RGB:
        return parse_color(self.colors[1]) if len(self.colors) > 1 else DEFAULT_ACCENT


# --- text layout ----------------------------------------------------------------------------


def _break_word(word: str, face: Font, width: int) -> list[str]:
    """A word too wide for a line, in pieces that fit (a URL, a long compound)."""
    pieces, current = [], ""
    for char in word:
        if current and face.getlength(current + char) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    return [*pieces, current] if current else pieces


def wrap(text: str, face: Font, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels, broken at spaces where possible."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if face.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        if face.getlength(word) <= width:
            current = word
        else:
            *whole, current = _break_word(word, face, width)
            lines.extend(whole)
    if current:
        lines.append(current)
    return lines


@dataclass(frozen=True)
class Layout:
    size: int
    lines: list[str]
    line_height: int

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


def _layout(text: str, size: int, width: int) -> Layout:
    face = font(size)
    return Layout(size, wrap(text, face, width), round(size * 1.22))


def fit_text(text: str, width: int, height: int, *, largest: int, smallest: int) -> Layout:
    """The largest size (between ``smallest`` and ``largest``) at which ``text`` wrapped to
    ``width`` is at most ``height`` tall; at ``smallest``, cut to the lines that fit."""
    lo, hi, best = smallest, largest, None
    while lo <= hi:  # taller text at larger sizes: binary search on the size
        mid = (lo + hi) // 2
        layout = _layout(text, mid, width)
        if layout.height <= height:
            best, lo = layout, mid + 1
        else:
            hi = mid - 1
    if best is not None:
        return best
    layout = _layout(text, smallest, width)
    keep = max(1, height // layout.line_height)
    lines = layout.lines[:keep]
    face = font(smallest)
    last = lines[-1]
    while last and face.getlength(last + ELLIPSIS) > width:
        last = last[:-1]
    lines[-1] = last.rstrip() + ELLIPSIS
    return Layout(smallest, lines, layout.line_height)


# --- drawing --------------------------------------------------------------------------------


def _background(
    size: tuple[int, int], brand: Brand, style: Style
) -> tuple[Image.Image, tuple[RGB, ...]]:
    """The canvas and the colours text is judged against."""
    if style == "minimal":
        return Image.new("RGB", size, PAPER), (PAPER,)
    if style == "gradient":
        top, bottom = brand.main, _mix(brand.main, brand.accent, 0.6)
        mask = Image.linear_gradient("L").resize(size)
        canvas = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)
        return canvas, (top, bottom)
    return Image.new("RGB", size, brand.main), (brand.main,)


def _logo(data: bytes | None, max_w: int, max_h: int) -> Image.Image | None:
    """The logo scaled into the box, with its transparency; None if it cannot be read."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.seek(0)
            logo = (ImageOps.exif_transpose(source) or source).convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None  # a logo that no longer decodes must not stop the graphic
    logo.thumbnail((max_w, max_h), Image.Resampling.LANCZOS)
    return logo


def render(
    headline: str, brand: Brand, size: tuple[int, int], style: Style = "bold"
) -> Image.Image:
    """The graphic, ``size`` (width, height) pixels."""
    width, height = size
    short = min(width, height)
    margin = round(short * 0.08)
    canvas, grounds = _background(size, brand, style)
    draw = ImageDraw.Draw(canvas)
    if style == "minimal":
        # The brand's own colour where it reads (WCAG AA, 4.5:1), ink where it does not.
        ink = brand.main if contrast(brand.main, PAPER) >= 4.5 else INK
        draw.rectangle((0, 0, round(width * 0.025), height), fill=brand.accent)
    else:
        ink = readable_on(grounds)

    top = margin
    logo = _logo(brand.logo, round(width * 0.35), round(short * 0.12))
    if logo is not None:
        canvas.paste(logo, (margin, margin), logo)
        top = margin + logo.height + round(short * 0.04)

    footer_face = font(max(12, round(short * 0.035)), bold=False)
    footer_h = round(getattr(footer_face, "size", 12) * 1.3)
    bottom = height - margin - footer_h - round(short * 0.04)
    rule_h = max(4, round(short * 0.012))
    box_w = width - 2 * margin
    box_h = bottom - top - 3 * rule_h
    layout = fit_text(
        headline,
        box_w,
        box_h,
        largest=max(16, round(short / 7)),
        smallest=max(12, round(short / 36)),
    )
    face = font(layout.size)
    y = top + (box_h - layout.height) // 2
    for line in layout.lines:
        draw.text((margin, y), line, font=face, fill=ink)
        y += layout.line_height
    if style != "minimal":
        y += rule_h
        draw.rectangle((margin, y, margin + round(width * 0.2), y + rule_h), fill=brand.accent)
    draw.text((margin, height - margin - footer_h), brand.name, font=footer_face, fill=ink)
    return canvas


def with_logo(data: bytes, logo: bytes | None) -> bytes:
    """A picture (the image model's) with the brand's logo in its top-left corner, placed
    as on composed graphics; unchanged without a readable logo."""
    with Image.open(io.BytesIO(data)) as source:
        source.seek(0)
        picture = source.convert("RGB")
    short = min(picture.size)
    mark = _logo(logo, round(picture.width * 0.35), round(short * 0.12))
    if mark is None:
        return data
    margin = round(short * 0.08)
    picture.paste(mark, (margin, margin), mark)
    return encode(picture)


def encode(image: Image.Image) -> bytes:
    """JPEG: the one image type every network takes (Instagram takes nothing else)."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
    return out.getvalue()


def graphic(headline: str, brand: Brand, size: tuple[int, int], style: Style = "bold") -> bytes:
    return encode(render(headline, brand, size, style))


def fit_photo(data: bytes, size: tuple[int, int], background: RGB) -> Image.Image:
    """A photo scaled to fit inside ``size`` whole (not cropped), centred on
    ``background``; for slideshow frames, where every frame has the video's size."""
    with Image.open(io.BytesIO(data)) as source:
        source.seek(0)
        photo = (ImageOps.exif_transpose(source) or source).convert("RGB")
    photo = ImageOps.contain(photo, size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", size, background)
    canvas.paste(photo, ((size[0] - photo.width) // 2, (size[1] - photo.height) // 2))
    return canvas
