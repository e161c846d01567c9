"""Product photos: add (checked and re-encoded, shop/images.py), order, main, alt text, delete.

An upload of several files is all or nothing: every file is checked and
re-encoded before anything is stored, and one refused file refuses them all
with its reason. The image work runs through shop.offload (an OS thread under
an event-loop server); the files are written before the rows that name them,
and deleted once no row names them any more (by the request, or, after a crash
between the two, by the ``media.prune`` background job).
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop import images, media
from shop.extensions import db
from shop.models import Product, ProductPhoto
from shop.models.base import utcnow
from shop.offload import IMAGES, run_cpu_bound
from shop.services.catalog import locked_product
from shop.services.errors import InvalidInput, NotFound
from shop.services.transaction import write_transaction

MAX_ALT = 200


@dataclass(frozen=True)
class Upload:
    filename: str  # as the browser named it: shown in messages, never used for storage
    data: bytes


def add_photos(product_id: int, uploads: list[Upload], alt: str = "") -> list[ProductPhoto]:
    """Check, re-encode and store ``uploads`` as the product's last photos; the new rows."""
    if not uploads:
        raise InvalidInput("Choose one or more photos to upload.")
    alt = _checked_alt(alt)
    _check_room(_photo_count(product_id), len(uploads))
    processed = [_processed(upload) for upload in uploads]
    try:
        for photo in processed:
            media.store(photo)
        with write_transaction() as session:
            product = locked_product(session, product_id)
            _check_room(len(product.photos), len(processed))  # again: another upload may have come first
            rows = [
                ProductPhoto(key=photo.key, width=photo.width, height=photo.height, alt=alt)
                for photo in processed
            ]
            product.photos.extend(rows)
            _renumber(product)
            _shown_anew(product)
    except BaseException:
        for photo in processed:
            _remove_if_unused(photo.key, photo.width)
        raise
    return rows


def update_photo(product_id: int, photo_id: int, alt: str | None = None, move: str | None = None) -> None:
    """Change a photo's alt text, and/or move it: ``"main"`` (first), ``"up"`` or ``"down"``."""
    if move not in (None, "main", "up", "down"):
        raise InvalidInput("A photo moves up, down or to the front.")
    new_alt = None if alt is None else _checked_alt(alt)
    with write_transaction() as session:
        product, photo = _product_and_photo(session, product_id, photo_id)
        if new_alt is not None:
            photo.alt = new_alt
        if move:
            order = list(product.photos)
            index = order.index(photo)
            target = {"main": 0, "up": max(index - 1, 0), "down": min(index + 1, len(order) - 1)}[move]
            order.insert(target, order.pop(index))
            _renumber(product, order)
        _shown_anew(product)


def delete_photo(product_id: int, photo_id: int) -> None:
    """Delete a photo; its files go too unless another photo is the same picture."""
    with write_transaction() as session:
        product, photo = _product_and_photo(session, product_id, photo_id)
        key, width = photo.key, photo.width
        product.photos.remove(photo)
        session.flush()
        _renumber(product)
        _shown_anew(product)
    _remove_if_unused(key, width)


def remove_orphan_files() -> int:
    """Delete the files that no photo row names (left by a worker that died between
    writing an upload's files and committing its rows); how many went."""
    keys = db.session.scalars(select(ProductPhoto.key).distinct())
    return media.remove_orphans(keys, current_app.config["MEDIA_ORPHAN_SECONDS"])


def _remove_if_unused(key: str, width: int) -> None:
    """Delete a photo's files unless a row (of any product) still names them."""
    still_used = db.session.scalar(
        select(func.count()).select_from(ProductPhoto).where(ProductPhoto.key == key)
    )
    if not still_used:
        media.remove(key, width)


def _processed(upload: Upload) -> images.ProcessedPhoto:
    max_pixels = current_app.config["MAX_UPLOAD_PIXELS"]
    try:
        return run_cpu_bound(images.process, upload.data, max_pixels, pool=IMAGES)
    except images.RefusedImage as exc:
        name = upload.filename[:80] or "A file"
        raise images.RefusedImage(f"{name}: {exc.message} Nothing was uploaded.") from exc


def _check_room(have: int, adding: int) -> None:
    limit = current_app.config["MAX_PHOTOS_PER_PRODUCT"]
    if have + adding > limit:
        raise InvalidInput(
            f"A product has at most {limit} photo{'' if limit == 1 else 's'}: "
            f"it has {have}, so {max(limit - have, 0)} more at most."
        )


def _checked_alt(alt: str) -> str:
    alt = " ".join(alt.split())
    if len(alt) > MAX_ALT:
        raise InvalidInput(f"Alt text is at most {MAX_ALT} characters.")
    return alt


def _photo_count(product_id: int) -> int:
    if db.session.get(Product, product_id) is None:
        raise NotFound("There is no such product.")
    return db.session.scalar(
        select(func.count()).select_from(ProductPhoto).where(ProductPhoto.product_id == product_id)
    )


def _product_and_photo(session: Session, product_id: int, photo_id: int) -> tuple[Product, ProductPhoto]:
    product = locked_product(session, product_id)
    photo = next((photo for photo in product.photos if photo.id == photo_id), None)
    if photo is None:
        raise NotFound("There is no such photo.")
    return product, photo


def _shown_anew(product: Product) -> None:
    """A kept product page or catalogue card is shown again only while its product's
    ``updated_at`` is unchanged: a photo change makes them render afresh."""
    product.updated_at = utcnow()


def _renumber(product: Product, order: list[ProductPhoto] | None = None) -> None:
    for position, photo in enumerate(order or product.photos):
        photo.position = position
