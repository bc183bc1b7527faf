"""Brand colours and theme from a logo image, with Pillow.

Rules (deliberately simple so a human can predict them):
* Pixels that are transparent (alpha < 128) or that match the logo's *background* are ignored. The
  background is "transparent" when the image has transparent corners/borders, otherwise the dominant
  border colour (usually white or black). White or black *inside* a transparent logo is brand colour.
* The rest is quantised to at most 8 colours (median cut). `primary` is the most common *saturated*
  colour (HSV saturation >= 0.25 and neither near-white nor near-black); if there is none, the most
  common colour. `secondary` is the next most common colour at least `DISTINCT` away from primary.
* Theme: a logo with an opaque background decides by that background (light → "light", dark →
  "dark"): the site should look like the brand's own artwork. A transparent logo needs a backdrop it
  stays visible on: mostly light artwork → "dark" theme, otherwise "light".
"""

from __future__ import annotations

import colorsys
import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from PIL import Image, UnidentifiedImageError

RGB = tuple[int, int, int]
HEX_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")
SAMPLE_SIZE = 128
ALPHA_OPAQUE = 128
BACKGROUND_DISTANCE = 40.0
DISTINCT = 60.0
MIN_SHARE = 0.01  # colours under 1 % of the artwork are anti-aliasing or specks
NEAR_WHITE = 235
NEAR_BLACK = 30
# Decompression-bomb guard beyond Pillow's own: a logo has no business being larger than this.
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class Palette:
    primary: str | None
    secondary: str | None
    theme: Literal["dark", "light"]


def hex_colour(rgb: RGB) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def parse_hex(value: str) -> RGB:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def distance(a: RGB, b: RGB) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5


def luminance(rgb: RGB) -> float:
    r, g, b = rgb
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def is_saturated(rgb: RGB) -> bool:
    _h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    return s >= 0.25 and max(rgb) > NEAR_BLACK and min(rgb) < NEAR_WHITE and v > 0.12


def palette_from_image(data: bytes) -> Palette | None:
    """None when the bytes are not a readable image or no usable pixel remains."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.load()
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    rgba.thumbnail((SAMPLE_SIZE, SAMPLE_SIZE), Image.Resampling.NEAREST)
    pixels: list[tuple[int, int, int, int]] = list(rgba.getdata())
    background = _background(rgba)
    artwork = [
        (r, g, b)
        for r, g, b, a in pixels
        if a >= ALPHA_OPAQUE and (background is None or distance((r, g, b), background) > BACKGROUND_DISTANCE)
    ]
    if not artwork:
        return None
    colours = _quantised(artwork)
    saturated = [c for c in colours if is_saturated(c)]
    primary = saturated[0] if saturated else colours[0]
    secondary = next((c for c in colours if distance(c, primary) >= DISTINCT), None)
    return Palette(
        primary=hex_colour(primary),
        secondary=hex_colour(secondary) if secondary else None,
        theme=_theme(background, artwork),
    )


def _rgba(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int, int]:
    """One pixel of an RGBA image (Pillow types `getpixel` for every mode at once)."""
    pixel = image.getpixel(xy)
    assert isinstance(pixel, tuple) and len(pixel) == 4, "the logo was converted to RGBA"
    r, g, b, a = (int(v) for v in pixel)
    return r, g, b, a


def _background(image: Image.Image) -> RGB | None:
    """None for a transparent background, else the commonest border colour."""
    width, height = image.size
    border = [_rgba(image, (x, y)) for x in range(width) for y in (0, height - 1)]
    border += [_rgba(image, (x, y)) for y in range(height) for x in (0, width - 1)]
    transparent = sum(1 for p in border if p[3] < ALPHA_OPAQUE)
    if transparent * 2 >= len(border):
        return None
    (colour, _count), *_ = Counter((r, g, b) for r, g, b, a in border if a >= ALPHA_OPAQUE).most_common(1)
    return colour


def _quantised(artwork: list[RGB]) -> list[RGB]:
    """Up to 8 representative colours, most common first, specks dropped."""
    strip = Image.new("RGB", (len(artwork), 1))
    strip.putdata(artwork)
    quantised = strip.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    counts = sorted(quantised.getcolors() or [], reverse=True)
    total = len(artwork)
    colours = [
        (palette[index * 3], palette[index * 3 + 1], palette[index * 3 + 2])
        for count, index in counts
        # A palette image's colours are indices into its palette.
        if isinstance(index, int) and count / total >= MIN_SHARE
    ]
    return colours or [artwork[0]]


def _theme(background: RGB | None, artwork: list[RGB]) -> Literal["dark", "light"]:
    if background is not None:
        return "light" if luminance(background) >= 0.5 else "dark"
    light_share = sum(1 for c in artwork if luminance(c) >= 0.6) / len(artwork)
    return "dark" if light_share > 0.5 else "light"
