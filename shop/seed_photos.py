"""Demo photos for `flask seed`, drawn with Pillow: no files shipped, nothing to license.

A still life per product: a soft backdrop in the product's palette, a table
edge, and a shape for its kind of thing (a cup, a jar, a board, folded cloth,
a notebook), with a shadow. The second view is the same thing closer up.
They go through the same upload service as an admin's photos.
"""

import io
from zlib import crc32

from PIL import Image, ImageDraw, ImageFilter, ImageOps

WIDTH, HEIGHT = 1280, 960
# (backdrop top, backdrop bottom, object, accent), one per product by name.
PALETTES = [
    ((246, 224, 211), (226, 190, 168), (138, 59, 28), (250, 244, 236)),
    ((227, 236, 220), (190, 210, 176), (59, 89, 52), (245, 240, 228)),
    ((248, 235, 203), (228, 200, 140), (119, 85, 16), (255, 250, 238)),
    ((224, 232, 241), (186, 204, 226), (46, 74, 104), (246, 244, 240)),
    ((238, 225, 236), (214, 190, 210), (95, 52, 96), (250, 244, 248)),
    ((217, 238, 234), (176, 214, 206), (31, 89, 84), (244, 250, 248)),
    ((247, 225, 227), (228, 186, 193), (137, 46, 69), (252, 244, 244)),
    ((238, 227, 217), (214, 190, 168), (90, 53, 25), (250, 245, 238)),
]


def demo_photo(name: str, kind: str, closer: bool = False) -> bytes:
    """A PNG of ``name`` (a ``kind`` from SHAPES), seen whole or closer up."""
    seed = crc32(name.encode())
    top, bottom, ink, light = PALETTES[seed % len(PALETTES)]
    ink = tuple(max(0, min(255, c + (seed >> 8) % 61 - 30)) for c in ink)  # no two quite alike
    image = _backdrop(top, bottom)
    scale = 1.6 if closer else 1.25
    layer = Image.new("RGBA", (WIDTH, HEIGHT))
    cx = WIDTH // 2 + (100 if closer else 0) + ((seed >> 4) % 5 - 2) * 50
    base = int(HEIGHT * (0.9 if closer else 0.8))
    shadow = _soft(
        lambda d, k: d.ellipse(
            _box(cx * k + 30 * scale * k, base * k, 300 * scale * k, 46 * scale * k), fill=110
        ),
        7,
    )
    image.paste((40, 25, 15), mask=shadow)
    SHAPES.get(kind, _cup)(ImageDraw.Draw(layer), cx, base, scale, ink, light)
    image.alpha_composite(layer)
    if seed >> 16 & 1:
        image = ImageOps.mirror(image)
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()


def _backdrop(top: tuple, bottom: tuple) -> Image.Image:
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    image = Image.composite(
        Image.new("RGB", (WIDTH, HEIGHT), bottom), Image.new("RGB", (WIDTH, HEIGHT), top), gradient
    )
    draw = ImageDraw.Draw(image)
    table = tuple(max(0, c - 28) for c in bottom)
    draw.rectangle((0, int(HEIGHT * 0.74), WIDTH, HEIGHT), fill=table)
    draw.line(
        (0, int(HEIGHT * 0.74), WIDTH, int(HEIGHT * 0.74)),
        fill=tuple(min(255, c + 18) for c in table),
        width=4,
    )
    glow = _soft(lambda d, k: d.ellipse((-200 * k, -300 * k, 900 * k, 600 * k), fill=70), 30)
    image.paste((255, 255, 255), mask=glow)
    return image.convert("RGBA")


def _soft(shape, blur: float) -> Image.Image:
    """A soft-edged mask: ``shape(draw, k)`` drawn at scale ``k`` (a quarter), blurred, enlarged."""
    k = 0.25
    small = Image.new("L", (int(WIDTH * k), int(HEIGHT * k)))
    shape(ImageDraw.Draw(small), k)
    return small.filter(ImageFilter.GaussianBlur(blur)).resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)


def _box(cx: float, cy: float, half_width: float, half_height: float) -> tuple:
    return (cx - half_width, cy - half_height, cx + half_width, cy + half_height)


def _cup(draw, cx, base, s, ink, light):
    draw.ellipse(_box(cx, base - 8 * s, 250 * s, 40 * s), fill=light)  # saucer
    draw.ellipse(_box(cx + 170 * s, base - 180 * s, 80 * s, 95 * s), outline=ink, width=int(26 * s))  # handle
    draw.rounded_rectangle(
        (cx - 170 * s, base - 330 * s, cx + 170 * s, base - 20 * s), radius=int(70 * s), fill=ink
    )
    draw.ellipse(_box(cx, base - 330 * s, 170 * s, 34 * s), fill=tuple(min(255, c + 40) for c in ink))
    draw.ellipse(_box(cx - 70 * s, base - 210 * s, 22 * s, 70 * s), fill=(255, 255, 255, 60))  # highlight


def _jar(draw, cx, base, s, ink, light):
    draw.rounded_rectangle((cx - 150 * s, base - 420 * s, cx + 150 * s, base), radius=int(60 * s), fill=light)
    draw.rounded_rectangle((cx - 150 * s, base - 250 * s, cx + 150 * s, base), radius=int(60 * s), fill=ink)
    draw.rounded_rectangle(
        (cx - 125 * s, base - 480 * s, cx + 125 * s, base - 410 * s), radius=int(18 * s), fill=ink
    )
    draw.rectangle((cx - 90 * s, base - 190 * s, cx + 90 * s, base - 90 * s), fill=light)  # label


def _board(draw, cx, base, s, ink, light):
    draw.rounded_rectangle(
        (cx + 180 * s, base - 170 * s, cx + 420 * s, base - 120 * s), radius=int(25 * s), fill=ink
    )
    draw.ellipse(_box(cx - 40 * s, base - 120 * s, 280 * s, 110 * s), fill=ink)
    draw.ellipse(
        _box(cx - 40 * s, base - 132 * s, 240 * s, 86 * s), fill=tuple(min(255, c + 35) for c in ink)
    )
    draw.ellipse(_box(cx - 110 * s, base - 150 * s, 60 * s, 22 * s), fill=(255, 255, 255, 50))


def _cloth(draw, cx, base, s, ink, light):
    for step, colour in enumerate((ink, light, tuple(min(255, c + 50) for c in ink))):
        top = base - 90 * s * (step + 1)
        draw.rounded_rectangle(
            (cx - 260 * s + step * 12 * s, top, cx + 260 * s - step * 12 * s, top + 96 * s),
            radius=int(34 * s),
            fill=colour,
        )


def _notebook(draw, cx, base, s, ink, light):
    corners = [(-300, 40), (240, 10), (320, 170), (-200, 200)]  # a page seen at an angle
    for lift, colour in ((0, light), (20, ink)):  # the pages' edge, then the cover on it
        draw.polygon([(cx + x * s, base - (y + lift) * s) for x, y in corners], fill=colour)
    draw.line((cx + 120 * s, base - 40 * s, cx + 200 * s, base - 205 * s), fill=light, width=int(14 * s))


SHAPES = {"cup": _cup, "jar": _jar, "board": _board, "cloth": _cloth, "notebook": _notebook}
