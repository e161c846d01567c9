"""Photos in the browser: an admin uploads them (a file input without script;
dropped files, one request each with progress, with it), picks the main one,
and a shopper pages through the gallery with the keyboard, the buttons and a swipe."""

import pytest
from playwright.sync_api import Page, expect

from testing import steps
from testing.data import insert_product
from testing.images import photo

pytestmark = pytest.mark.browser
# Not a kettle: other tests on the same server search for theirs.
PRODUCT = "Gallery piece"


def edit_page(admin: Page, product_id: int) -> None:
    admin.goto(f"/admin/products/{product_id}/edit")
    expect(admin.get_by_role("heading", name="Photos")).to_be_visible()


def photo_items(admin: Page):
    return admin.locator("[data-photo-list] [data-photo-item]")


def test_an_admin_uploads_photos_without_script(browsing, shop):
    product_id = insert_product(shop.database_url, name=PRODUCT)
    admin = browsing.page(javascript=False)
    steps.log_in(admin, *steps.ADMIN)
    edit_page(admin, product_id)

    admin.get_by_label("Add photos").set_input_files(
        [
            {
                "name": "first.jpg",
                "mimeType": "image/jpeg",
                "buffer": photo("JPEG", (800, 600), (200, 60, 30)),
            },
            {
                "name": "second.png",
                "mimeType": "image/png",
                "buffer": photo("PNG", (800, 600), (30, 60, 200)),
            },
        ]
    )
    admin.get_by_label("Alt text for them").fill("A kettle on the stove")
    admin.get_by_role("button", name="Upload").click()

    expect(admin.get_by_role("status").filter(has_text="2 photos added.")).to_be_visible()
    expect(photo_items(admin)).to_have_count(2)
    expect(photo_items(admin).first.locator("img")).to_have_attribute("alt", "A kettle on the stove")

    admin.get_by_label("Add photos").set_input_files(
        {"name": "page.jpg", "mimeType": "image/jpeg", "buffer": b"<html><script>alert(1)</script></html>"}
    )
    with browsing.clean.tolerating("status of 400"):  # the refusal is a 400 page
        admin.get_by_role("button", name="Upload").click()
        expect(admin.get_by_role("alert")).to_contain_text("page.jpg: That file is not a photo we can use")
    edit_page(admin, product_id)
    expect(photo_items(admin)).to_have_count(2)


def test_dropped_photos_upload_one_by_one_with_progress_then_the_gallery(browsing, shop):
    product_id = insert_product(shop.database_url, name=PRODUCT)
    admin = browsing.admin()
    edit_page(admin, product_id)
    colours = [(200, 40, 40), (40, 160, 40), (40, 40, 200)]
    files = [list(photo("PNG", (640, 480), colour)) for colour in colours] + [list(b"not a photo at all")]

    # A drop, as a file manager would make it: the files land in the form's own input.
    admin.locator("[data-drop-zone]").evaluate(
        """(zone, files) => {
            const dropped = new DataTransfer();
            files.forEach((bytes, i) => {
                const name = i < 3 ? `photo-${i}.png` : "notes.png";
                dropped.items.add(new File([new Uint8Array(bytes)], name, {type: "image/png"}));
            });
            const options = {dataTransfer: dropped, bubbles: true, cancelable: true};
            zone.dispatchEvent(new DragEvent("drop", options));
        }""",
        files,
    )
    assert admin.get_by_label("Add photos").evaluate("input => input.files.length") == 4
    progress = admin.locator("[data-upload-progress] li")
    with browsing.clean.tolerating("status of 400"):  # the fourth file's refusal
        admin.get_by_role("button", name="Upload").click()
        expect(progress).to_have_count(4)
        for index in range(3):
            expect(progress.nth(index).locator("progress")).to_have_js_property("value", 100)
            expect(progress.nth(index)).to_contain_text("added")
        expect(progress.nth(3)).to_contain_text("notes.png: That file is not a photo we can use")
    expect(admin.locator("[data-upload-form]")).to_have_attribute("data-uploaded", "3")

    edit_page(admin, product_id)  # three of four were added: the page shows them
    expect(photo_items(admin)).to_have_count(3)
    third = photo_items(admin).nth(2)
    third_id = third.get_attribute("data-photo-id")
    third.get_by_role("button", name="Make photo 3 the main one").click()
    expect(admin.get_by_role("status").filter(has_text="Main photo chosen.")).to_be_visible()
    expect(photo_items(admin).first).to_have_attribute("data-photo-id", third_id)

    shopper = browsing.page()
    shopper.goto(f"/products/{product_id}")
    gallery = shopper.locator("[data-gallery]")
    slides = gallery.locator("[data-gallery-slide] img")
    expect(slides).to_have_count(3)
    expect(slides.first).to_have_attribute("data-photo-id", third_id)
    expect(slides.first).to_have_js_property("complete", True)
    assert slides.first.evaluate("img => img.naturalWidth") > 0
    thumbs = gallery.locator("[data-gallery-thumb]")

    strip = gallery.locator("[data-gallery-slides]")
    strip.focus()
    shopper.keyboard.press("ArrowRight")
    expect(thumbs.nth(1)).to_have_attribute("aria-current", "true")
    shopper.keyboard.press("End")
    expect(thumbs.nth(2)).to_have_attribute("aria-current", "true")
    expect(gallery.get_by_role("button", name="Next photo")).to_be_disabled()
    gallery.get_by_role("button", name="Previous photo").click()
    expect(thumbs.nth(1)).to_have_attribute("aria-current", "true")
    thumbs.nth(0).click()
    expect(thumbs.nth(0)).to_have_attribute("aria-current", "true")

    # A swipe scrolls the strip (scroll snap); the gallery follows where it came to rest.
    strip.evaluate("strip => strip.scrollTo({left: strip.scrollWidth, behavior: 'instant'})")
    expect(thumbs.nth(2)).to_have_attribute("aria-current", "true")
    expect(gallery).to_have_attribute("data-current", "2")


def test_the_gallery_without_script_is_a_strip_with_linked_thumbnails(browsing, shop):
    product_id = insert_product(shop.database_url, name=PRODUCT)
    admin = browsing.admin()
    edit_page(admin, product_id)
    admin.get_by_label("Add photos").set_input_files(
        [
            {"name": f"{n}.jpg", "mimeType": "image/jpeg", "buffer": photo(colour=(n * 80, 90, 90))}
            for n in range(2)
        ]
    )
    admin.get_by_role("button", name="Upload").click()
    expect(photo_items(admin)).to_have_count(2)  # both in: the page reloaded to show them

    shopper = browsing.page(javascript=False)
    shopper.goto(f"/products/{product_id}")
    expect(shopper.locator("[data-gallery-slide] img")).to_have_count(2)
    expect(shopper.get_by_role("button", name="Next photo")).to_be_hidden()
    shopper.get_by_role("link", name="Photo 2").click()
    assert shopper.url.endswith("#photo-2")
