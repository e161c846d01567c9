"""Room names. The server alone chooses which of these a connection joins."""

ADMINS = "admins"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def product_room(product_id: int) -> str:
    return f"product:{product_id}"
