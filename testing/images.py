"""Files for the upload tests, made here with Pillow and by hand: real photos in each
format, one with a camera's EXIF (GPS, an orientation), and what must be refused:
SVG, HTML, polyglots, truncated files, a decompression bomb."""

import io
import struct
import zlib

from PIL import Image

# A point on a map that must never reach a shopper.
GPS = {1: "N", 2: (52.0, 22.0, 12.5), 3: "E", 4: (4.0, 53.0, 7.25)}
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>'
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def photo(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), colour=(200, 80, 40), **options) -> bytes:
    """A real image of ``size`` in ``fmt`` (JPEG, PNG, WEBP, GIF, …)."""
    image = Image.new("RGBA" if fmt == "PNG" and options.pop("alpha", False) else "RGB", size, colour)
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def two_colour_jpeg(orientation: int | None = None, gps: bool = False) -> bytes:
    """40 × 20: red on the left half, blue on the right; with an EXIF orientation and GPS if asked."""
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x010F] = "Test Camera Maker"  # Make
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = GPS  # the GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def png_bomb(side: int) -> bytes:
    """A valid 1-bit PNG of ``side`` × ``side`` pixels in a few KiB (decoded: a byte a pixel)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", compressed) + chunk(b"IEND", b"")


def refused_files() -> dict[str, bytes]:
    """Each kind of file an upload must refuse, by name."""
    jpeg, png = photo("JPEG"), photo("PNG")
    return {
        "svg": SVG,
        "html": HTML,
        "gif": photo("GIF"),
        "bmp": photo("BMP"),
        "jpeg then html (polyglot)": jpeg + HTML,
        "png then a zip (polyglot)": png + b"PK\x03\x04" + b"\x00" * 26,
        "html with a jpeg inside (polyglot)": HTML + jpeg,
        "truncated jpeg": jpeg[: len(jpeg) // 2],
        "truncated png": png[: len(png) - 20],
        "empty": b"",
        "random bytes": bytes(range(256)) * 8,
    }
