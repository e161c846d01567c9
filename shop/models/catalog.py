from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import db
from shop.models.base import utcnow
from shop.models.types import Cents, UTCDateTime

# A product is in any number of categories; a category holds any number of products.
product_categories = Table(
    "product_categories",
    db.metadata,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Category(db.Model):
    """A shelf of the catalogue (Coffee, Tea, …), named in URLs by its slug."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Category {self.id} {self.slug!r}>"


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        Index("ix_products_active_name", "active", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[Cents]
    stock: Mapped[int] = mapped_column(default=0)
    low_stock_threshold: Mapped[int] = mapped_column(default=5)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped by every change (details, stock, checkouts): an edit form carries the one it showed.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    categories: Mapped[list[Category]] = relationship(secondary=product_categories, order_by=Category.name)
    # The first is the main photo (the catalogue card's). Lists load them at once (selectinload).
    photos: Mapped[list["ProductPhoto"]] = relationship(
        order_by="(ProductPhoto.position, ProductPhoto.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def main_photo(self) -> "ProductPhoto | None":
        return self.photos[0] if self.photos else None

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.name!r} stock={self.stock}>"


class ProductPhoto(db.Model):
    """A photo of a product, stored re-encoded under content-addressed names.

    ``key`` names its files (shop/media.py): one WebP and one JPEG per width
    in ``widths``, the largest ``width`` × ``height`` pixels.
    """

    __tablename__ = "product_photos"
    __table_args__ = (CheckConstraint("width > 0 AND height > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    key: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int]
    height: Mapped[int]
    alt: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockWatch(db.Model):
    """A user waiting to hear that an out-of-stock product is back."""

    __tablename__ = "stock_watches"
    __table_args__ = (UniqueConstraint("user_id", "product_id", name="uq_stock_watches_user_product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
