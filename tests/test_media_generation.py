"""Composed graphics (no model): the brand's colours and logo, the headline fitted to each
network's shape, the same pixels for the same input, and the text helpers."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from services.media_generation import compose, fonts
from services.media_generation.compose import Brand, contrast, fit_text, parse_color, wrap
from services.media_generation.generate import headline_of, text_chunks
from tools.platforms.limits import ASPECT_SIZES, image_aspect, video_aspect

TEAL, GOLD = "#0F766E", "#FBBF24"
HEADLINE = "Fresh cold brew is here: try the new single-origin roast this weekend"


def _close(pixel: tuple[int, ...], color: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color, strict=True))


def _logo(color: tuple[int, int, int] = (220, 20, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (400, 200), (*color, 255)).save(out, "PNG")
    return out.getvalue()


def test_each_network_gets_its_shape() -> None:
    assert ASPECT_SIZES[image_aspect("instagram")] == (1080, 1350)  # 4:5
    assert ASPECT_SIZES[image_aspect("twitter")] == (1600, 900)  # 16:9
    assert ASPECT_SIZES[image_aspect("tiktok")] == (1080, 1920)  # 9:16
    assert ASPECT_SIZES[image_aspect("linkedin")] == (1080, 1080)
    assert video_aspect("tiktok") == "vertical"
    assert video_aspect("linkedin") == "landscape"


@pytest.mark.parametrize("aspect", ["square", "portrait", "landscape", "vertical"])
def test_a_graphic_has_the_shape_the_brand_colours_and_readable_text(aspect: str) -> None:
    size = ASPECT_SIZES[aspect]  # type: ignore[index]
    data = compose.graphic(HEADLINE, Brand("Acme Coffee", (TEAL, GOLD)), size)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.size == size
    rgb = image.convert("RGB")
    assert _close(rgb.getpixel((5, 5)), parse_color(TEAL))  # the brand's main colour
    colors = rgb.getcolors(maxcolors=size[0] * size[1]) or []
    # White text on teal (the better contrast), and the gold accent rule.
    assert sum(n for n, c in colors if _close(c, (255, 255, 255), 30)) > 5_000
    assert sum(n for n, c in colors if _close(c, parse_color(GOLD), 20)) > 2_000


def test_the_same_input_renders_the_same_bytes_and_another_headline_does_not() -> None:
    brand = Brand("Acme", (TEAL,))
    one = compose.graphic(HEADLINE, brand, (1080, 1080))
    assert compose.graphic(HEADLINE, brand, (1080, 1080)) == one
    assert compose.graphic("Another day, another roast", brand, (1080, 1080)) != one


def test_without_brand_colours_the_defaults_are_used_and_minimal_is_on_paper() -> None:
    plain = Image.open(io.BytesIO(compose.graphic(HEADLINE, Brand("Acme"), (1080, 1080))))
    assert _close(plain.convert("RGB").getpixel((1000, 5)), compose.DEFAULT_MAIN)
    light = compose.render(HEADLINE, Brand("Acme", (TEAL, GOLD)), (1080, 1350), "minimal")
    assert light.getpixel((1000, 5)) == compose.PAPER
    assert light.getpixel((2, 600)) == parse_color(GOLD)  # the accent bar down the left edge
    # The teal reads on paper (>= 4.5:1), so the headline is set in it.
    assert contrast(parse_color(TEAL), compose.PAPER) >= 4.5
    assert parse_color(TEAL) in {c for _, c in light.getcolors(maxcolors=2_000_000) or []}


def test_a_gradient_runs_from_the_main_colour_toward_the_accent() -> None:
    image = compose.render(HEADLINE, Brand("Acme", (TEAL, GOLD)), (1080, 1080), "gradient")
    assert _close(image.getpixel((1070, 2)), parse_color(TEAL), 4)
    bottom = image.getpixel((1070, 1077))
    assert bottom != image.getpixel((1070, 2))
    assert bottom[0] > parse_color(TEAL)[0]  # toward the gold's red


def test_the_logo_is_drawn_top_left_within_its_box() -> None:
    image = compose.render(HEADLINE, Brand("Acme", (TEAL,), logo=_logo()), (1080, 1080))
    margin = round(1080 * 0.08)
    assert image.getpixel((margin + 5, margin + 5)) == (220, 20, 60)
    # Scaled into at most 12% of the short side in height: 129 px, keeping its 2:1 shape.
    assert image.getpixel((margin + 5, margin + 135)) != (220, 20, 60)
    assert image.getpixel((margin + 250, margin + 5)) == (220, 20, 60)
    assert image.getpixel((margin + 262, margin + 5)) != (220, 20, 60)


def test_an_unreadable_logo_is_left_out_rather_than_failing() -> None:
    image = compose.render(HEADLINE, Brand("Acme", (TEAL,), logo=b"not an image"), (800, 800))
    assert image.size == (800, 800)


def test_headlines_are_wrapped_within_the_width_and_sized_to_fit() -> None:
    face = fonts.font(60)
    lines = wrap(HEADLINE + " " + "x" * 80, face, 500)
    assert all(face.getlength(line) <= 500 for line in lines)
    assert len(lines) > 3
    short = fit_text("Hello", 900, 900, largest=150, smallest=12)
    long = fit_text(HEADLINE * 3, 900, 900, largest=150, smallest=12)
    assert short.size == 150
    assert 12 <= long.size < short.size
    assert long.height <= 900
    # Too much for even the smallest size: cut to the lines that fit, with an ellipsis.
    cut = fit_text(HEADLINE * 40, 300, 100, largest=40, smallest=20)
    assert cut.size == 20
    assert cut.height <= 100
    assert cut.lines[-1].endswith("…")


def test_without_dejavu_pillows_own_font_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "DEJAVU_BOLD", fonts.DEJAVU_BOLD.with_name("missing.ttf"))
    monkeypatch.setattr(fonts, "DEJAVU", fonts.DEJAVU.with_name("missing.ttf"))
    fonts.font.cache_clear()
    try:
        image = compose.render(HEADLINE, Brand("Acme", (TEAL,)), (600, 600))
        assert image.size == (600, 600)
        assert len(image.getcolors(maxcolors=1_000_000) or []) > 2  # text was drawn
    finally:
        fonts.font.cache_clear()


def test_a_headline_is_the_title_or_the_first_sentence_without_links() -> None:
    assert headline_of("Big news", "ignored") == "Big news"
    assert headline_of(None, "New roast! Come by https://x.co/a today.") == "New roast!"
    long = headline_of(None, "word " * 60)
    assert len(long) <= 140
    assert long.endswith("…")
    assert headline_of(None, "   ") == ""


def test_text_is_split_into_a_few_slides_without_hashtags() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(30)) + " #coffee"
    chunks = text_chunks(text)
    assert 1 < len(chunks) <= 4
    assert all(len(c) <= 141 for c in chunks)
    assert not any("#coffee" in c for c in chunks)
