"""Factories, one name per meaning.

``make_*`` build ORM rows in the test's own app (inside its app context);
``insert_*`` write rows straight into the database of a live server, a worker
or the bench, from outside it, and return what a test needs to reach them.
Every user made here has the password ``PASSWORD``.
"""

import itertools
import re
import time
from functools import cache

from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from shop import media
from shop.extensions import db
from shop.models import LoginSession, Notification, Order, Product, ProductPhoto, User, normalize_email
from shop.services import accounts, addresses, catalog, orders, photos, shipping
from shop.services import cart as cart_service
from shop.services.cart import ShownCart
from shop.services.notifications import notify
from shop.services.transaction import write_transaction
from testing.apps import database_session
from testing.checkout import ADDRESS, DELIVERY, shown_with
from testing.images import photo

PASSWORD = "correct horse battery"
_unique = itertools.count(1)


@cache
def password_hash() -> str:
    """A real argon2id hash of PASSWORD, with the cheapest parameters argon2 allows.

    Verification reads the parameters from the hash, so logging these users in
    goes through the real code at a fraction of the production cost (about
    0.2 s a hash here). Users registered through the pages pay the full cost.
    """
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


def unique_email(name: str = "user") -> str:
    prefix = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "user"
    return f"{prefix}-{next(_unique)}-{time.monotonic_ns()}@example.com"


# -- in the test's own app ------------------------------------------------------------


def make_user(email="shopper@example.com", name="Sam", admin=False, password=PASSWORD) -> User:
    if password != PASSWORD:
        return accounts.register(email, name, password, is_admin=admin)
    user = User(email=normalize_email(email), name=name, is_admin=admin, password_hash=password_hash())
    db.session.add(user)
    db.session.commit()
    return user


def make_product(name="Teapot", price_cents=2500, stock=10, threshold=3, active=True) -> Product:
    product = Product(
        name=name,
        price_cents=price_cents,
        stock=stock,
        low_stock_threshold=threshold,
        active=active,
        description=f"A fine {name.lower()}.",
    )
    db.session.add(product)
    db.session.commit()
    return product


def add_photo(product: Product, image: bytes | None = None, alt: str = "") -> ProductPhoto:
    """A photo of ``product`` through the upload service (a small JPEG unless ``image``)."""
    [row] = photos.add_photos(product.id, [photos.Upload("photo.jpg", image or photo())], alt)
    return row


def fill_cart(user: User, product: Product, quantity: int = 1) -> None:
    cart_service.add_to_cart(user.id, product.id, quantity)


def as_shown(user: User) -> ShownCart:
    """The user's cart as the checkout page would show it now with standard
    shipping (what the checkout form carries)."""
    return shown_with(user.id)


def make_order(user: User, product: Product, quantity: int = 1, key: str = "order-key") -> Order:
    """An order of ``quantity`` of ``product``, placed through the checkout service."""
    fill_cart(user, product, quantity)
    return orders.place_order(user.id, key, as_shown(user), DELIVERY)


def count(model, *where) -> int:
    """How many rows of ``model`` there are (matching ``where``), read fresh."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def notifications_of(user: User) -> list[Notification]:
    statement = select(Notification).where(Notification.user_id == user.id).order_by(Notification.seq)
    return list(db.session.scalars(statement))


def stock_of(product: Product) -> int:
    return db.session.scalar(select(Product.stock).where(Product.id == product.id))


def set_session_times(token: str, **times) -> None:
    """Move a login session's ``created_at`` and ``last_seen_at`` (aware datetimes)."""
    db.session.execute(update(LoginSession).where(LoginSession.token == token).values(**times))
    db.session.commit()


def snapshot(skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of every table (but ``skip``), in a stable order."""
    db.session.rollback()
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(table.select())), key=repr)
        for table in db.metadata.sorted_tables
        if table.name not in skip
    }


class World:
    """Two shoppers and an admin, a product (with a photo, in a category), an order,
    notification and saved address of Alice's, and the shop's first shipping method."""

    def __init__(self):
        self.alice = make_user("alice@example.com", "Alice")
        self.bob = make_user("bob@example.com", "Bob")
        self.admin = make_user("admin@example.com", "Ada", admin=True)
        self.product = make_product("Teapot", stock=10)
        self.sold_out = make_product("Kettle", stock=0)
        self.order = make_order(self.alice, self.product, 2, key="alice-order")
        self.address = addresses.add_address(self.alice.id, ADDRESS)
        self.shipping_method = shipping.offered_methods()[0]
        self.category = catalog.save_category("Teaware")
        self.photo = add_photo(self.product, alt="A teapot on a table")
        self.product.categories.append(self.category)
        db.session.commit()
        self.ids = {
            "product_id": self.product.id,
            "order_id": self.order.id,
            "address_id": self.address.id,
            "method_id": self.shipping_method.id,
            "photo_id": self.photo.id,
            "category_id": self.category.id,
            "name": media.file_name(self.photo.key, self.photo.width, "webp"),
            "token": "not-a-signed-token",
        }


# -- straight into another process's database ---------------------------------------------


def insert_user(database_url: str, name: str = "Robin", admin: bool = False) -> str:
    """A new user (its own email, the password PASSWORD); returns the email."""
    email = unique_email(name)
    with database_session(database_url) as session:
        session.add(User(email=email, name=name, is_admin=admin, password_hash=password_hash()))
        session.commit()
    return email


def insert_product(
    database_url: str, stock: int = 10, threshold: int = 2, price_cents: int = 1500, name: str = "Test kettle"
) -> int:
    """A new product, so that no other test moves its stock; returns its id."""
    with database_session(database_url) as session:
        product = Product(
            name=f"{name} {next(_unique)}",
            description=f"A {name.lower()} made for one test.",
            price_cents=price_cents,
            stock=stock,
            low_stock_threshold=threshold,
        )
        session.add(product)
        session.commit()
        return product.id


def write_notification(user_id: int, title: str, kind: str = "order_status", **fields) -> Notification:
    """One notification of ``user_id``, written as a service writes it (pushed after the commit)."""
    with write_transaction() as session:
        return notify(session, user_id, kind, title, url=fields.pop("url", "/orders"), **fields)
