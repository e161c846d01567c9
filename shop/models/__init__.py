"""The models, one module per aggregate; import them from here."""

from shop.models.cart import CartItem
from shop.models.catalog import Product, StockWatch
from shop.models.notification import Notification
from shop.models.order import Order, OrderEvent, OrderItem
from shop.models.user import LoginSession, SocketConnection, User, normalize_email

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
    "normalize_email",
]
