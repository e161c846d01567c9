"""What every signed-in page shows around its content, read in one query.

The inbox position (epoch and top seq: where the page's socket catches up
from), the cart count and the unread count are one statement, so they are
one snapshot: the unread count is the one at the top seq the socket starts
from. Read before the page's data, a notification written meanwhile is on
the page already or comes with the catch-up, never lost.
"""

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from shop.extensions import db
from shop.models import CartItem, Notification, User


def _counts(user_id) -> tuple:
    """The cart and unread counts of ``user_id`` (a parameter, or a column to correlate with)."""
    return (
        select(func.coalesce(func.sum(CartItem.quantity), 0))
        .where(CartItem.user_id == user_id)
        .scalar_subquery()
        .label("cart_count"),
        select(func.count())
        .where(Notification.user_id == user_id, ~Notification.read)
        .scalar_subquery()
        .label("unread_count"),
    )


# The navigation, and the inbox position alone, as columns of a query already reading the
# user (the request's login lookup).
POSITION = (User.inbox_epoch, User.last_seq)
COLUMNS = (*POSITION, *_counts(User.id))

_USER = bindparam("user_id")
# Built once: a statement object keeps its compiled form and cache key.
_READ = select(User.inbox_epoch, User.last_seq, *_counts(_USER)).where(User.id == _USER)


@dataclass(frozen=True)
class Navigation:
    inbox_epoch: str
    last_seq: int
    cart_count: int
    unread_count: int


def read(user_id: int) -> Navigation:
    """The user's inbox position and counts, as of one moment."""
    row = db.session.connection().execute(_READ, {"user_id": user_id}).one_or_none()
    if row is None:  # the account was deleted since its session was looked up
        return Navigation("", 0, 0, 0)
    return of_row(row)


def of_row(row) -> Navigation:
    """The navigation from a row holding COLUMNS."""
    return Navigation(row.inbox_epoch, row.last_seq, row.cart_count, row.unread_count)
