"""The address book and the delivery address at checkout: each field's rules
and messages, the forms that keep what was typed, and the copy an order keeps."""

import re
from dataclasses import replace

import pytest

from shop.extensions import db
from shop.models import Address, Order
from shop.services import addresses
from shop.services.addresses import MAX_ADDRESSES, AddressFields, InvalidAddress, address_errors
from shop.services.errors import InvalidInput, NotFound
from testing.checkout import ADDRESS, ADDRESS_FORM
from testing.data import count, fill_cart, make_product, make_user, snapshot
from testing.shopper import checkout_fields

# field, a bad value, the message the field shows
BAD_FIELDS = [
    ("name", "", "Enter the name of the person the parcel is for."),
    ("name", "   ", "Enter the name of the person the parcel is for."),
    ("name", "N" * 81, "Use at most 80 characters."),
    ("name", "Sam\x07Shopper", "Use letters, digits and punctuation only."),
    ("line1", "", "Enter the street and house number."),
    ("line1", "x" * 121, "Use at most 120 characters."),
    ("line1", "Street\u202e1", "Use letters, digits and punctuation only."),
    ("line2", "x" * 121, "Use at most 120 characters."),
    ("postcode", "", "Enter the postcode."),
    ("postcode", "12345", "A postcode in Netherlands looks like 1015 CJ."),
    ("postcode", "1015 C", "A postcode in Netherlands looks like 1015 CJ."),
    ("postcode", "x" * 13, "Use at most 12 characters."),
    ("city", "", "Enter the town or city."),
    ("city", "c" * 81, "Use at most 80 characters."),
    ("country", "", "Choose a country from the list."),
    ("country", "US", "We deliver only to the countries in the list: choose one of them."),
    ("country", "Netherlands", "Use at most 2 characters."),
    ("phone", "", "Enter a phone number the courier can call."),
    ("phone", "12345", "Enter a phone number of 6 to 15 digits, like +31 20 123 4567."),
    ("phone", "+31 20 123 4567 8901 2", "Enter a phone number of 6 to 15 digits, like +31 20 123 4567."),
    ("phone", "call me maybe", "Enter a phone number of 6 to 15 digits, like +31 20 123 4567."),
    ("phone", "020 1234567 ext", "Enter a phone number of 6 to 15 digits, like +31 20 123 4567."),
]
# country, a postcode it takes, one it does not
POSTCODES = [
    ("DE", "10115", "1011"),
    ("FR", "75001", "7500A"),
    ("BE", "1000", "10000"),
    ("PT", "1100-148", "1100148"),
    ("SE", "111 52", "11-152"),
    ("IE", "D02 X285", "D2 X285"),
    ("NL", "1015cj", "CJ 1015"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_FIELDS)
def test_each_bad_field_gets_its_own_message(app, name, value, message):
    address = replace(ADDRESS, **{name: value})
    assert address_errors(address) == {name: message}
    with pytest.raises(InvalidAddress) as refused:
        addresses.check_address(address)
    assert refused.value.errors == {name: message}
    assert refused.value.status == 400


def test_every_missing_field_is_named_at_once(app):
    errors = address_errors(AddressFields("", "", "", "", "", ""))
    assert set(errors) == {"name", "line1", "postcode", "city", "country", "phone"}


@pytest.mark.parametrize(("country", "good", "bad"), POSTCODES)
def test_postcodes_follow_their_country(app, country, good, bad):
    assert address_errors(replace(ADDRESS, country=country, postcode=good)) == {}
    assert set(address_errors(replace(ADDRESS, country=country, postcode=bad))) == {"postcode"}


def test_an_address_is_stored_tidied(app, shopper):
    messy = replace(ADDRESS, name="  Sam   Shopper ", postcode="1015cj", country="nl", line2="  ")
    saved = addresses.add_address(shopper.id, messy)
    assert (saved.name, saved.postcode, saved.country, saved.line2) == ("Sam Shopper", "1015CJ", "NL", "")


def test_the_address_book_holds_at_most_its_cap_and_refuses_nothing_it_has(app, shopper):
    for number in range(MAX_ADDRESSES):
        addresses.add_address(shopper.id, replace(ADDRESS, line1=f"Keizersgracht {number + 1}"))
    with pytest.raises(InvalidInput, match="at most 20 addresses"):
        addresses.add_address(shopper.id, replace(ADDRESS, line1="Prinsengracht 1"))
    # the same address again is the one already saved, not a new one
    assert addresses.add_address(shopper.id, replace(ADDRESS, line1="Keizersgracht 1")).id
    assert count(Address) == MAX_ADDRESSES


def test_someone_elses_address_is_missing(app, shopper):
    other = make_user("other@example.com", "Otto")
    theirs = addresses.add_address(other.id, ADDRESS)
    with pytest.raises(NotFound):
        addresses.get_address(shopper.id, theirs.id)
    with pytest.raises(NotFound):
        addresses.update_address(shopper.id, theirs.id, ADDRESS)
    with pytest.raises(NotFound):
        addresses.delete_address(shopper.id, theirs.id)
    assert db.session.get(Address, theirs.id).user_id == other.id


# -- the account's address pages --------------------------------------------------


@pytest.fixture
def signed_in(client, auth, shopper):
    auth.login()
    return shopper


def field_value(page: bytes, name: str) -> str:
    found = re.search(rb'name="%s"[^>]*value="([^"]*)"' % name.encode(), page)
    return found.group(1).decode() if found else ""


def test_add_edit_and_delete_an_address(client, signed_in):
    assert client.get("/account/addresses/new").status_code == 200
    response = client.post("/account/addresses/new", data=ADDRESS_FORM)
    assert response.headers["Location"] == "/account"
    [saved] = addresses.list_addresses(signed_in.id)
    assert addresses.AddressFields.of(saved) == ADDRESS
    assert b"Keizersgracht 123, 1015 CJ Amsterdam, Netherlands" in client.get("/account").data

    edit = f"/account/addresses/{saved.id}/edit"
    assert field_value(client.get(edit).data, "address-line1") == "Keizersgracht 123"
    client.post(edit, data={**ADDRESS_FORM, "address-line1": "Prinsengracht 263"})
    db.session.expire_all()
    assert db.session.get(Address, saved.id).line1 == "Prinsengracht 263"

    client.post(f"/account/addresses/{saved.id}/delete")
    assert addresses.list_addresses(signed_in.id) == []


def test_a_refused_address_keeps_what_was_typed_and_says_what_is_wrong_where(client, signed_in):
    typed = {**ADDRESS_FORM, "address-postcode": "99999", "address-phone": "", "address-name": "Sam <b>"}

    response = client.post("/account/addresses/new", data=typed)

    assert response.status_code == 400
    page = response.data
    assert field_value(page, "address-postcode") == "99999"
    assert field_value(page, "address-name") == "Sam &lt;b&gt;"
    assert field_value(page, "address-line1") == "Keizersgracht 123"
    assert b'<option selected value="NL">' in page
    for field, message in [
        ("postcode", "A postcode in Netherlands looks like 1015 CJ."),
        ("phone", "Enter a phone number the courier can call."),
    ]:
        block = re.search(
            rb'<div class="field has-error">\s*<label for="address-%s".*?</div>' % field.encode(), page, re.S
        )
        assert block and message.encode() in block.group(0), field
    assert count(Address) == 0


def test_another_shoppers_address_pages_are_404_and_change_nothing(client, signed_in):
    other = make_user("other@example.com", "Otto")
    theirs = addresses.add_address(other.id, ADDRESS)
    before = snapshot()
    assert client.get(f"/account/addresses/{theirs.id}/edit").status_code == 404
    assert client.post(f"/account/addresses/{theirs.id}/edit", data=ADDRESS_FORM).status_code == 404
    assert client.post(f"/account/addresses/{theirs.id}/delete").status_code == 404
    assert snapshot() == before


# -- the address at checkout --------------------------------------------------------


def test_checkout_with_a_bad_address_keeps_it_and_places_nothing(client, signed_in):
    teapot = make_product("Teapot", stock=5)
    fill_cart(signed_in, teapot, 1)
    form = checkout_fields(client.get("/checkout").data, **{"address-postcode": "ABC", "address-city": ""})

    response = client.post("/checkout", data=form)

    assert response.status_code == 400
    assert b"Please check the address: 2 fields need a change." in response.data
    assert b"A postcode in Netherlands looks like 1015 CJ." in response.data
    assert b"Enter the town or city." in response.data
    assert field_value(response.data, "address-postcode") == "ABC"
    assert field_value(response.data, "address-name") == "Sam Shopper"
    assert count(Order) == count(Address) == 0
    # the page it came back as places the order once the address is right
    fixed = {**checkout_fields(response.data), "address-postcode": "1015 CJ", "address-city": "Amsterdam"}
    assert client.post("/checkout", data=fixed).status_code == 302
    assert count(Order) == 1


def test_checkout_saves_the_address_when_asked_and_offers_it_next_time(client, signed_in):
    teapot = make_product("Teapot", stock=5)
    fill_cart(signed_in, teapot, 1)
    client.post("/checkout", data=checkout_fields(client.get("/checkout").data))
    [saved] = addresses.list_addresses(signed_in.id)

    fill_cart(signed_in, teapot, 1)
    page = client.get("/checkout").data
    assert re.search(rb'name="address_id" value="%d" checked' % saved.id, page)
    form = {**checkout_fields(page), **{name: "" for name in ADDRESS_FORM}}  # nothing typed
    assert form["address_id"] == str(saved.id)
    assert client.post("/checkout", data=form).status_code == 302
    assert count(Address) == 1
    assert [order.delivery.line1 for order in db.session.query(Order).order_by(Order.id)] == [
        "Keizersgracht 123"
    ] * 2


def test_checkout_without_saving_the_address_leaves_the_book_empty(client, signed_in):
    fill_cart(signed_in, make_product(stock=5), 1)
    form = checkout_fields(client.get("/checkout").data)
    del form["save_address"]  # the box unticked
    assert client.post("/checkout", data=form).status_code == 302
    assert count(Address) == 0
    assert db.session.query(Order).one().delivery.city == "Amsterdam"


def test_checkout_to_someone_elses_saved_address_is_refused(client, signed_in):
    other = make_user("other@example.com", "Otto")
    theirs = addresses.add_address(other.id, replace(ADDRESS, name="Otto Other"))
    fill_cart(signed_in, make_product(stock=5), 1)
    form = checkout_fields(client.get("/checkout").data, address_id=str(theirs.id))

    response = client.post("/checkout", data=form)

    assert response.status_code == 404
    assert count(Order) == 0


@pytest.mark.parametrize("address_id", ["abc", "-1", str(2**70)])
def test_a_broken_address_choice_is_400(client, signed_in, address_id):
    fill_cart(signed_in, make_product(stock=5), 1)
    form = checkout_fields(client.get("/checkout").data, address_id=address_id)
    response = client.post("/checkout", data=form)
    assert response.status_code == 400
    assert b"Choose an address from your address book, or enter a new one." in response.data
    assert count(Order) == 0


def test_the_order_keeps_its_address_when_the_book_changes(client, signed_in):
    """An edit, then a delete, of the saved address: the order still shows where it went."""
    fill_cart(signed_in, make_product(stock=5), 1)
    client.post("/checkout", data=checkout_fields(client.get("/checkout").data))
    order = db.session.query(Order).one()
    [saved] = addresses.list_addresses(signed_in.id)

    addresses.update_address(signed_in.id, saved.id, replace(ADDRESS, line1="Elsewhere 9", city="Utrecht"))
    page = client.get(f"/orders/{order.id}").data
    assert b"Keizersgracht 123" in page and b"1015 CJ Amsterdam" in page
    assert b"Elsewhere 9" not in page

    addresses.delete_address(signed_in.id, saved.id)
    db.session.expire_all()
    delivery = db.session.get(Order, order.id).delivery
    assert (
        delivery.name,
        delivery.line1,
        delivery.postcode,
        delivery.city,
        delivery.country,
        delivery.phone,
    ) == (
        "Sam Shopper",
        "Keizersgracht 123",
        "1015 CJ",
        "Amsterdam",
        "NL",
        "+31 20 123 4567",
    )
    assert b"Keizersgracht 123" in client.get(f"/orders/{order.id}").data
