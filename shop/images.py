"""A product photo as the shop stores it: checked by decoding, re-encoded clean.

An upload is trusted for nothing: not its name, not the browser's content
type, not its metadata. It must be a whole JPEG, PNG or WebP file that Pillow
decodes, with nothing after the image's end (a file that is also an archive,
a page or a script is refused), and no more pixels than the cap, read from the
header before anything is decoded (a small file can describe a huge picture).
What is kept is the picture alone: the EXIF orientation applied, colours in
sRGB, and every size the pages use encoded anew as WebP and as JPEG, without
EXIF, GPS, XMP, ICC or comments. Files are named by a hash of what was
written, so a name never changes meaning and can be cached for ever.

Pure functions of bytes; ``process`` is CPU-bound and runs through
shop.offload in a real OS thread (Pillow releases the GIL while it codes).
"""

import hashlib
import io
import struct
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from shop.services.errors import InvalidInput

FORMATS = ("JPEG", "PNG", "WEBP")
# The widths the pages ask for (srcset); a smaller photo stops at its own width.
WIDTHS = (320, 640, 1280)
ENCODINGS = {
    "webp": ("WEBP", {"quality": 80, "method": 4}),
    "jpg": ("JPEG", {"quality": 82, "optimize": True, "progressive": True}),
}
SRGB = ImageCms.createProfile("sRGB")


class RefusedImage(InvalidInput):
    code = "refused_image"


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    extension: str  # "webp" or "jpg"
    data: bytes


@dataclass(frozen=True)
class ProcessedPhoto:
    key: str  # names every file of the photo
    width: int  # of the largest rendition
    height: int
    renditions: tuple[Rendition, ...]


def widths_for(width: int) -> list[int]:
    """The widths a photo whose largest rendition is ``width`` pixels wide comes in."""
    return [w for w in WIDTHS if w < width] + [width]


def process(data: bytes, max_pixels: int) -> ProcessedPhoto:
    """Check ``data`` and re-encode it; RefusedImage (with the reason, in words) if it is not a photo."""
    image = open_checked(data, max_pixels)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, struct.error) as exc:
        raise RefusedImage("That photo is damaged or cut short: it could not be read to the end.") from exc
    image = _upright_srgb(image)
    largest = min(image.width, WIDTHS[-1])
    renditions = []
    for width in widths_for(largest):
        height = max(1, round(image.height * width / image.width))
        resized = image if width == image.width else image.resize((width, height), Image.Resampling.LANCZOS)
        for extension, (fmt, options) in ENCODINGS.items():
            out = io.BytesIO()
            _for_format(resized, fmt).save(out, fmt, **options)
            renditions.append(Rendition(width, height, extension, out.getvalue()))
    digest = hashlib.sha256()
    for rendition in renditions:
        digest.update(rendition.data)
    top = renditions[-1]
    return ProcessedPhoto(digest.hexdigest()[:32], top.width, top.height, tuple(renditions))


def open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """The image's header read and checked (format, whole file, pixel count); nothing decoded yet."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(max_pixels) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error) as exc:
        raise RefusedImage("That file is not a photo we can use: send a JPEG, PNG or WebP image.") from exc
    if image.width * image.height > max_pixels:
        raise _too_many_pixels(max_pixels)
    if image.width < 1 or image.height < 1:
        raise RefusedImage("That image has no pixels.")
    end = image_end(data, image.format)
    if end is None:
        raise RefusedImage("That photo is damaged or cut short: it could not be read to the end.")
    if end != len(data):
        raise RefusedImage(
            "That file carries more than a picture (data after the image's end, as in a disguised "
            "file or a phone's motion photo): save it again as a plain JPEG, PNG or WebP."
        )
    return image


def _too_many_pixels(max_pixels: int) -> RefusedImage:
    return RefusedImage(f"That image has too many pixels: at most {max_pixels / 1e6:g} megapixels, please.")


def image_end(data: bytes, fmt: str) -> int | None:
    """Where the image ends in ``data`` by its own structure (None if it never does)."""
    return {"PNG": _png_end, "JPEG": _jpeg_end, "WEBP": _webp_end}[fmt](data)


def _png_end(data: bytes) -> int | None:
    offset = 8
    while offset + 12 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        offset += 12 + length
        if kind == b"IEND":
            return offset if offset <= len(data) else None
    return None


def _webp_end(data: bytes) -> int | None:
    (size,) = struct.unpack("<I", data[4:8])
    end = 8 + size + (size & 1)
    return end if end <= len(data) else None


def _jpeg_end(data: bytes) -> int | None:
    """After the EOI marker, walking the segments and the entropy-coded scans between them."""
    offset = 2  # after SOI
    while offset + 2 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker == 0xD9:  # EOI
            return offset + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            offset += 2
            continue
        if offset + 4 > len(data):
            return None
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
        if marker == 0xDA:  # a scan: entropy-coded data up to the next marker that is not RSTn or a stuffed 0
            while True:
                offset = data.find(b"\xff", offset)
                if offset < 0 or offset + 1 >= len(data):
                    return None
                following = data[offset + 1]
                if following == 0 or 0xD0 <= following <= 0xD7:
                    offset += 2
                    continue
                break
    return None


def _upright_srgb(image: Image.Image) -> Image.Image:
    """The first frame, turned as its EXIF orientation says, in sRGB, with no metadata kept."""
    profile = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if has_alpha else "RGB"
    converted = None
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(image, source, SRGB, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # a broken or unusable profile: the pixels as they are
    image = converted or image.convert(mode)
    image.info = {}  # no EXIF, XMP, ICC or text goes on to the files
    return image


def _for_format(image: Image.Image, fmt: str) -> Image.Image:
    """JPEG has no alpha: a transparent photo goes onto white."""
    if fmt == "JPEG" and image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image
