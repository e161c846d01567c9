"""The models, one module per aggregate; import them from here."""

from shop.models.address import Address
from shop.models.cart import CartItem
from shop.models.catalog import Category, Product, ProductPhoto, StockWatch
from shop.models.change import AdminChange
from shop.models.mail import MailDelivery, NotificationPreference
from shop.models.message import OrderMessage, OrderThread
from shop.models.notification import Notification
from shop.models.order import Order, OrderDelivery, OrderEvent, OrderItem, OrderPaymentEvent
from shop.models.push import PushMessage, PushSubscription
from shop.models.shipping import ShippingMethod
from shop.models.user import (
    LoginSession,
    SocketConnection,
    User,
    hash_password,
    normalize_email,
    verify_password,
)

__all__ = [
    "Address",
    "AdminChange",
    "CartItem",
    "Category",
    "LoginSession",
    "MailDelivery",
    "Notification",
    "NotificationPreference",
    "Order",
    "OrderDelivery",
    "OrderEvent",
    "OrderMessage",
    "OrderItem",
    "OrderPaymentEvent",
    "OrderThread",
    "Product",
    "ProductPhoto",
    "PushMessage",
    "PushSubscription",
    "ShippingMethod",
    "SocketConnection",
    "StockWatch",
    "User",
    "hash_password",
    "normalize_email",
    "verify_password",
]
