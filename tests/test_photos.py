"""Product photos: what an upload accepts and refuses (decoded, never by name or
type), what is stored (re-encoded, no metadata, upright, content-addressed),
the limits, who may upload, ordering and deleting, how files are served, and
the photos on the catalogue and product pages."""

import io
import os
import re
import time

import pytest
from PIL import Image, ImageFile

from shop import images, media, offload
from shop.extensions import db
from shop.models import ProductPhoto
from shop.services import photos
from testing.data import PASSWORD, add_photo, count, make_product, make_user, snapshot
from testing.images import photo, png_bomb, refused_files, two_colour_jpeg


@pytest.fixture
def signed_in_admin(app, client, admin):
    client.post("/auth/login", data={"email": admin.email, "password": PASSWORD})
    return client


@pytest.fixture
def teapot(app):
    return make_product("Teapot", stock=5)


def upload(client, product, *files: tuple[bytes, str], alt: str = "", **headers):
    data = {"photos": [(io.BytesIO(data), name) for data, name in files], "alt": alt}
    return client.post(
        f"/admin/products/{product.id}/photos", data=data, content_type="multipart/form-data", headers=headers
    )


def stored_files() -> set[str]:
    return {path.name for path in media.root().iterdir()} if media.root().exists() else set()


def renditions(row: ProductPhoto) -> dict[str, Image.Image]:
    """Every file of a stored photo, opened, by name."""
    names = [
        media.file_name(row.key, w, ext) for w in images.widths_for(row.width) for ext in ("webp", "jpg")
    ]
    return {name: Image.open(media.root() / name) for name in names}


# -- what is accepted, and what is stored ---------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("JPEG", {}), ("PNG", {"alpha": True}), ("WEBP", {}), ("JPEG", {"progressive": True})],
)
def test_each_accepted_format_is_stored_as_webp_and_jpeg_at_every_width(
    signed_in_admin, teapot, fmt, options
):
    response = upload(signed_in_admin, teapot, (photo(fmt, (900, 600), **options), "holiday.bin"))

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/products/{teapot.id}/edit#product-photos")
    [row] = db.session.get(type(teapot), teapot.id).photos
    assert (row.width, row.height) == (900, 600)
    stored = renditions(row)
    assert stored_files() == set(stored)
    assert sorted(im.size for im in stored.values()) == sorted([(320, 213), (640, 427), (900, 600)] * 2)
    assert {im.format for im in stored.values()} == {"WEBP", "JPEG"}
    assert all(name.startswith(row.key) and re.fullmatch(media.NAME, name) for name in stored)


def test_a_large_photo_is_stored_at_most_1280_wide(app, teapot):
    row = add_photo(teapot, photo("JPEG", (3000, 2000)))
    assert (row.width, row.height) == (1280, 853)
    assert images.widths_for(row.width) == [320, 640, 1280]


def test_names_are_a_hash_of_the_output_so_the_same_photo_is_stored_once(app, teapot):
    kettle = make_product("Kettle")
    first, second = add_photo(teapot, photo(colour=(1, 2, 3))), add_photo(kettle, photo(colour=(1, 2, 3)))
    other = add_photo(kettle, photo(colour=(200, 2, 3)))
    assert first.key == second.key != other.key
    assert len(stored_files()) == 2 * len(renditions(first))


def test_the_extension_and_the_browsers_content_type_count_for_nothing(signed_in_admin, teapot):
    png_named_jpeg = {"photos": (io.BytesIO(photo("PNG")), "photo.jpg", "image/jpeg")}
    html_named_jpeg = {"photos": (io.BytesIO(refused_files()["html"]), "photo.jpg", "image/jpeg")}
    url = f"/admin/products/{teapot.id}/photos"

    assert signed_in_admin.post(url, data=png_named_jpeg).status_code == 302
    refused = signed_in_admin.post(url, data=html_named_jpeg)

    assert refused.status_code == 400
    assert b"photo.jpg: That file is not a photo we can use" in refused.data
    assert count(ProductPhoto) == 1


def test_exif_and_gps_never_reach_the_stored_files(app, teapot):
    original = two_colour_jpeg(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the upload does carry GPS

    row = add_photo(teapot, original)

    for name, stored in renditions(row).items():
        raw = (media.root() / name).read_bytes()
        assert not stored.getexif(), name
        assert not {"exif", "xmp", "icc_profile", "comment"} & stored.info.keys(), name
        assert b"Test Camera Maker" not in raw and b"Exif" not in raw and b"XMP" not in raw, name


@pytest.mark.parametrize(
    ("orientation", "size", "top", "bottom"),
    [
        (None, (40, 20), "red", "red"),  # left red, right blue, as taken
        (6, (20, 40), "red", "blue"),  # the camera was turned: red on top once upright
        (8, (20, 40), "blue", "red"),
    ],
)
def test_the_exif_orientation_is_applied(app, teapot, orientation, size, top, bottom):
    row = add_photo(teapot, two_colour_jpeg(orientation))

    stored = renditions(row)[media.file_name(row.key, row.width, "jpg")].convert("RGB")
    assert stored.size == size
    assert colour(stored.getpixel((size[0] // 4, size[1] // 8))) == top
    assert colour(stored.getpixel((size[0] // 4, size[1] * 7 // 8))) == bottom


def colour(pixel) -> str:
    red, _, blue = pixel
    return "red" if red > 150 > blue else "blue" if blue > 150 > red else f"{pixel}"


# -- what is refused ------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(refused_files()))
def test_each_refused_kind_of_file_gets_a_message_and_changes_nothing(signed_in_admin, teapot, kind):
    signed_in_admin.get(f"/admin/products/{teapot.id}/edit")
    before = snapshot()

    response = upload(signed_in_admin, teapot, (refused_files()[kind], f"{kind}.jpg"))

    assert response.status_code == 400
    page = response.data.decode()
    assert f"{kind}.jpg: " in page and "Nothing was uploaded." in page
    assert 'enctype="multipart/form-data"' in page  # the form, to try again
    assert snapshot() == before
    assert stored_files() == set()


def test_one_refused_file_refuses_the_whole_upload(signed_in_admin, teapot):
    response = upload(
        signed_in_admin, teapot, (photo("PNG"), "good.png"), (refused_files()["svg"], "bad.svg")
    )

    assert response.status_code == 400
    assert b"bad.svg: That file is not a photo" in response.data
    assert count(ProductPhoto) == 0 and stored_files() == set()


@pytest.mark.parametrize("side", [8_000, 15_000])  # over the shop's cap; over Pillow's own too
def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(app, teapot, monkeypatch, side):
    bomb = png_bomb(side)
    assert len(bomb) < 100_000
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda im: decoded.append(im))

    with pytest.raises(images.RefusedImage, match="too many pixels: at most 40 megapixels"):
        photos.add_photos(teapot.id, [photos.Upload("bomb.png", bomb)])

    assert decoded == []
    assert count(ProductPhoto) == 0


@pytest.mark.app_config(MAX_UPLOAD_PIXELS=1000)
def test_the_pixel_cap_is_a_setting(signed_in_admin, teapot):
    assert upload(signed_in_admin, teapot, (photo(size=(40, 25)), "a.jpg")).status_code == 302
    response = upload(signed_in_admin, teapot, (photo(size=(40, 26)), "b.jpg"))
    assert response.status_code == 400 and b"at most 0.001 megapixels" in response.data


@pytest.mark.app_config(MAX_PHOTOS_PER_PRODUCT=2)
def test_a_product_has_at_most_max_photos(signed_in_admin, teapot):
    assert upload(signed_in_admin, teapot, (photo(), "1.jpg")).status_code == 302

    refused = upload(signed_in_admin, teapot, (photo(colour=(1, 1, 1)), "2.jpg"), (photo(), "3.jpg"))
    assert refused.status_code == 400 and b"at most 2 photos: it has 1, so 1 more at most" in refused.data

    assert upload(signed_in_admin, teapot, (photo(colour=(1, 1, 1)), "2.jpg")).status_code == 302
    assert count(ProductPhoto) == 2


def test_no_file_chosen_is_a_message(signed_in_admin, teapot):
    response = upload(signed_in_admin, teapot, (b"", ""))
    assert response.status_code == 400 and b"Choose one or more photos" in response.data


# -- the size of the body: raised on the upload route only, for admins only ------------


def body_of(megabytes: float) -> bytes:
    """A real PNG of about ``megabytes`` (noise does not compress)."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5)
    noise = Image.frombytes("RGB", (side, side), bytes((i * 7919) % 251 for i in range(side * side * 3)))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=0)
    return out.getvalue()


@pytest.mark.app_config(MAX_UPLOAD_MB=2, WTF_CSRF_ENABLED=True)
def test_an_admin_may_upload_more_than_a_form_may_send_csrf_checked_all_the_same(app, admin):
    from tests.security.test_forms import csrf_token

    client = app.test_client()
    token = csrf_token(client, "/auth/login")
    client.post("/auth/login", data={"csrf_token": token, "email": admin.email, "password": PASSWORD})
    teapot = make_product("Teapot")
    big = body_of(1.5)
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]
    token = csrf_token(client, f"/admin/products/{teapot.id}/edit")

    assert upload(client, teapot, (big, "big.png"), alt="Big").status_code == 400  # no token: refused
    response = client.post(
        f"/admin/products/{teapot.id}/photos",
        data={"csrf_token": token, "photos": (io.BytesIO(big), "big.png")},
    )

    assert response.status_code == 302
    assert count(ProductPhoto) == 1


@pytest.mark.app_config(MAX_UPLOAD_MB=1)
def test_over_max_upload_mb_is_a_friendly_413_that_changes_nothing(signed_in_admin, teapot):
    before = snapshot()

    response = upload(signed_in_admin, teapot, (body_of(1.2), "huge.png"))

    assert response.status_code == 413
    assert b"more than the 1 MB one upload may send" in response.data
    assert f'href="/admin/products/{teapot.id}/edit"'.encode() in response.data
    assert snapshot() == before and stored_files() == set()


@pytest.mark.app_config(MAX_UPLOAD_MB=4)
def test_every_other_route_and_every_other_user_keep_the_small_limit(app, client, teapot):
    make_user("alice@example.com")
    client.post("/auth/login", data={"email": "alice@example.com", "password": PASSWORD})
    big = body_of(1.5)

    as_shopper = upload(client, teapot, (big, "big.png"))
    elsewhere = client.post("/cart/add/1", data={"photos": (io.BytesIO(big), "big.png")})

    assert as_shopper.status_code == elsewhere.status_code == 413
    assert b"1024 KiB a form may send" in as_shopper.data
    assert upload(client, teapot, (photo(), "small.jpg")).status_code == 403
    assert count(ProductPhoto) == 0 and stored_files() == set()


def test_a_visitor_is_sent_to_log_in_and_nothing_is_stored(client, teapot):
    response = upload(client, teapot, (photo(), "a.jpg"))
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    assert stored_files() == set()


# -- order, main photo, alt text, delete -----------------------------------------------


def test_reorder_pick_main_alt_text_and_delete(signed_in_admin, teapot):
    rows = [add_photo(teapot, photo(colour=(n, 0, 0))) for n in (10, 20, 30)]
    first, second, third = (row.id for row in rows)
    url = f"/admin/products/{teapot.id}/photos"

    def order():
        db.session.expire_all()
        return [row.id for row in db.session.get(type(teapot), teapot.id).photos]

    assert signed_in_admin.post(f"{url}/{third}", data={"alt": "", "move": "main"}).status_code == 302
    assert order() == [third, first, second]
    signed_in_admin.post(f"{url}/{third}", data={"alt": "", "move": "down"})
    assert order() == [first, third, second]
    signed_in_admin.post(f"{url}/{second}", data={"alt": "", "move": "up"})
    assert order() == [first, second, third]
    signed_in_admin.post(f"{url}/{first}", data={"alt": "  The teapot,   from above "})
    assert db.session.get(ProductPhoto, first).alt == "The teapot, from above"
    assert signed_in_admin.post(f"{url}/{first}", data={"move": "sideways"}).status_code == 400

    files = renditions(rows[1])
    assert signed_in_admin.post(f"{url}/{second}/delete").status_code == 302
    assert order() == [first, third]
    assert [row.position for row in db.session.get(type(teapot), teapot.id).photos] == [0, 1]
    assert not set(files) & stored_files()


@pytest.mark.app_config(MAX_PHOTOS_PER_PRODUCT=1)
def test_files_of_an_upload_refused_at_the_last_moment_are_removed(app, teapot, monkeypatch):
    """Another upload took the last place while this one was being re-encoded."""
    first = add_photo(teapot, photo(colour=(5, 5, 5)))
    kept = stored_files()
    monkeypatch.setattr(photos, "_photo_count", lambda product_id: 0)  # the early check passed

    with pytest.raises(photos.InvalidInput, match="at most 1 photo: it has 1, so 0 more"):
        photos.add_photos(teapot.id, [photos.Upload("late.jpg", photo(colour=(9, 9, 9)))])

    assert stored_files() == kept == set(renditions(first))


def test_deleting_keeps_files_another_photo_still_shows(app, teapot):
    kettle = make_product("Kettle")
    mine, theirs = add_photo(teapot), add_photo(kettle)
    photos.delete_photo(teapot.id, mine.id)
    assert set(renditions(theirs)) <= stored_files()


def age(name: str, seconds: float) -> None:
    path = media.root() / name
    os.utime(path, (path.stat().st_atime, time.time() - seconds))


def test_the_sweep_deletes_old_files_no_row_names_and_keeps_the_rest(app, teapot):
    """A worker killed between writing an upload's files and committing its rows
    leaves files no row names: the media.prune job deletes them once they are old."""
    kept = add_photo(teapot, photo(colour=(1, 2, 3)))
    crashed = images.process(photo(colour=(7, 8, 9)), app.config["MAX_UPLOAD_PIXELS"])
    media.store(crashed)
    (media.root() / ".upload-abandoned").write_bytes(b"half a file")
    fresh = images.process(photo(colour=(4, 5, 6)), app.config["MAX_UPLOAD_PIXELS"])
    media.store(fresh)  # an upload whose rows are still to be committed
    for name in stored_files() - {media.file_name(fresh.key, r.width, r.extension) for r in fresh.renditions}:
        age(name, app.config["MEDIA_ORPHAN_SECONDS"] + 60)

    removed = photos.remove_orphan_files()

    orphans = {media.file_name(crashed.key, r.width, r.extension) for r in crashed.renditions}
    assert removed == len(orphans) + 1
    assert stored_files() == set(renditions(kept)) | {
        media.file_name(fresh.key, r.width, r.extension) for r in fresh.renditions
    }


def test_storing_a_picture_already_on_disk_makes_it_fresh_for_the_sweep(app, teapot):
    """The same picture uploaded again reuses its old orphaned files: they must not be
    swept between the upload's store and its commit."""
    again = images.process(photo(colour=(7, 7, 7)), app.config["MAX_UPLOAD_PIXELS"])
    media.store(again)
    for name in stored_files():
        age(name, app.config["MEDIA_ORPHAN_SECONDS"] + 60)
    media.store(again)
    assert photos.remove_orphan_files() == 0
    assert len(stored_files()) == len(again.renditions)


def test_a_photo_of_another_product_is_404(signed_in_admin, teapot):
    other = add_photo(make_product("Kettle"))
    before = snapshot()
    assert signed_in_admin.post(f"/admin/products/{teapot.id}/photos/{other.id}/delete").status_code == 404
    assert signed_in_admin.post(f"/admin/products/{teapot.id}/photos/{other.id}", data={}).status_code == 404
    assert snapshot() == before


def test_image_work_runs_through_the_offload_pool(app, teapot):
    calls = []

    def record(fn, *args):
        calls.append(fn)
        return fn(*args)

    offload.use_executor(record, 2, images=1)
    try:
        add_photo(teapot)
    finally:
        offload.use_executor(offload.call_directly, 2)
    assert calls == [images.process]


# -- serving --------------------------------------------------------------------------


def test_photos_are_served_immutable_and_unsniffable(app, client, teapot):
    row = add_photo(teapot)
    for extension, mimetype in (("webp", "image/webp"), ("jpg", "image/jpeg")):
        response = client.get(f"/media/{media.file_name(row.key, row.width, extension)}")
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "name",
    [
        "..%2Fshop.db",
        "%2E%2E%2Fconfig.py",
        f"{'0' * 32}-640.webp",
        "x.svg",
        f"{'a' * 32}-640.html",
        ".upload-x",
    ],
)
def test_only_a_stored_photos_name_is_served(app, client, teapot, name):
    add_photo(teapot)
    (media.root() / ".upload-x").write_bytes(b"half")
    assert client.get(f"/media/{name}").status_code == 404


# -- on the pages ---------------------------------------------------------------------


def test_catalogue_cards_show_the_main_photo_sized_and_lazy_below_the_fold(app, client):
    products = [make_product(f"Pot {n:02}") for n in range(6)]
    rows = {
        product.id: add_photo(product, photo(colour=(n * 30, 90, 90)), alt="")
        for n, product in enumerate(products)
    }
    bare = make_product("Pot 99 without a photo")

    page = client.get("/").data.decode()

    cards = re.findall(r'<li class="product-card[^"]*" data-product-id="(\d+)">(.*?)</li>', page, re.S)
    assert [int(product_id) for product_id, _ in cards] == [*rows, bare.id]
    for index, (product_id, card) in enumerate(cards[:-1]):
        row = rows[int(product_id)]
        img = re.search(r"<img [^>]*>", card).group(0)
        assert f'srcset="/media/{row.key}-64.webp 64w"' in card
        assert f'src="/media/{row.key}-64.jpg"' in img and f'srcset="/media/{row.key}-64.jpg 64w"' in img
        assert 'sizes="(max-width: 40rem) 50vw, 18rem"' in img
        assert 'width="64" height="48"' in img
        assert f'alt="Pot {index:02}"' in img  # no alt text written: the product's name
        assert ('loading="lazy"' in img) == (index >= 4)
    assert "no-photo" in cards[-1][1] and "<img" not in cards[-1][1]


def test_the_product_page_shows_a_gallery_of_every_photo_in_order(app, client, teapot):
    big = add_photo(teapot, photo(size=(1600, 1200)), alt="The teapot from the side")
    add_photo(teapot, photo(colour=(0, 90, 0)), alt="")

    page = client.get(f"/products/{teapot.id}").data.decode()

    slides = re.findall(r"<li class=\"gallery-slide\".*?</li>", page, re.S)
    assert len(slides) == 2
    assert (
        f"/media/{big.key}-320.webp 320w, /media/{big.key}-640.webp 640w, /media/{big.key}-1280.webp 1280w"
        in slides[0]
    )
    assert 'alt="The teapot from the side"' in slides[0] and 'fetchpriority="high"' in slides[0]
    assert 'loading="lazy"' not in slides[0] and 'loading="lazy"' in slides[1]
    assert 'alt="Teapot"' in slides[1]
    assert page.count("data-gallery-thumb") == 2 and 'href="#photo-2"' in page
    assert "js/gallery.js" in page


def test_a_product_with_one_photo_or_none_has_no_gallery(app, client, teapot):
    assert "product-art-large no-photo" in client.get(f"/products/{teapot.id}").data.decode()
    add_photo(teapot)
    page = client.get(f"/products/{teapot.id}").data.decode()
    assert "<picture" in page and "data-gallery" not in page and "gallery.js" not in page
