"""The models, one module per aggregate; import them from here."""

from shop.models.cart import CartItem
from shop.models.catalog import Product, StockWatch
from shop.models.notification import Notification
from shop.models.order import Order, OrderEvent, OrderItem
from shop.models.user import (
    LoginSession,
    SocketConnection,
    User,
    hash_password,
    normalize_email,
    verify_password,
)

__all__ = [
    "CartItem",
    "LoginSession",
    "Notification",
    "Order",
    "OrderEvent",
    "OrderItem",
    "Product",
    "SocketConnection",
    "StockWatch",
    "User",
    "hash_password",
    "normalize_email",
    "verify_password",
]
