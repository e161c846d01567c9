from flask import Blueprint, abort, send_from_directory, url_for

from shop import media
from shop.images import widths_for
from shop.models import ProductPhoto

bp = Blueprint("media", __name__)

# A name is a hash of the file's bytes: it never changes meaning, so it is cached for ever.
IMMUTABLE = "public, max-age=31536000, immutable"


@bp.route("/media/<name>")
def photo(name: str):
    """One rendition of a photo; nginx serves the same folder itself in production."""
    if not media.NAME.fullmatch(name):
        abort(404)
    response = send_from_directory(media.root(), name, max_age=31536000)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_template_global()
def photo_url(photo: ProductPhoto, width: int | None = None, extension: str = "jpg") -> str:
    """One rendition's URL: ``width`` or the nearest it comes in above it (the largest if none)."""
    widths = widths_for(photo.width)
    chosen = next((w for w in widths if width is not None and w >= width), widths[-1])
    return url_for("media.photo", name=media.file_name(photo.key, chosen, extension))


@bp.app_template_global()
def photo_srcset(photo: ProductPhoto, extension: str) -> str:
    """Every width the photo comes in, for ``srcset``."""
    widths = widths_for(photo.width)
    return ", ".join(f"{photo_url(photo, width, extension)} {width}w" for width in widths)
