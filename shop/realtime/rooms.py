"""Room names. The server alone chooses which of these a connection joins."""

ADMINS = "admins"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def product_room(product_id: int) -> str:
    return f"product:{product_id}"


def order_room(order_id: int) -> str:
    """The owner's sockets that watch the order's page (its thread, presence, typing)."""
    return f"order:{order_id}"


def order_shop_room(order_id: int) -> str:
    """The admins' sockets that watch the order: they see admins' names, the owner never does."""
    return f"order:{order_id}:shop"
