"""The order conversation: a shopper and the shop write about an order.

Only the order's owner (the customer side) and admins (the shop side, which
speaks as one) may read or write its thread; to anyone else the order does
not exist. A message is written in one transaction with the notifications it
causes (a shopper's notifies every admin, the shop's notifies the owner) and
pushed after the commit; the same client id from one author is one message.
Each side's read state is kept per order (``OrderThread``).
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shop.extensions import db
from shop.models import Notification, Order, OrderMessage, OrderThread, User
from shop.models.base import utcnow
from shop.models.message import CUSTOMER, SHOP, SHOP_NAME
from shop.models.notification import MESSAGE
from shop.realtime import publisher
from shop.services.errors import InvalidInput, NotFound, RateLimited
from shop.services.notifications import notify, notify_admins, unread_count
from shop.services.order_page import ShownOrder
from shop.services.orders import locked_order
from shop.services.transaction import write_transaction

MAX_BODY = 2000
MAX_CLIENT_ID = 64
PREVIEW = 200  # how much of a message its notification carries
NO_SUCH_ORDER = "There is no such order."
CATCH_UP_LIMIT = 200


@dataclass(frozen=True)
class Reader:
    """Who is looking at a thread, and from which side."""

    user_id: int
    is_admin: bool

    @classmethod
    def of(cls, user) -> "Reader":
        return cls(user.id, bool(user.is_admin))


@dataclass(frozen=True)
class Watch:
    """Someone with an order's page open: the order, its owner, who, and on which side."""

    order_id: int
    owner_id: int
    user_id: int
    name: str
    for_shop: bool


@dataclass(frozen=True)
class Thread:
    """An order's conversation as one side sees it (pages render this)."""

    order: Order | ShownOrder
    messages: list[OrderMessage]
    state: OrderThread | None
    for_shop: bool

    @property
    def seen_up_to(self) -> int:
        """How far the other side has read."""
        if self.state is None:
            return 0
        return self.state.customer_last_read if self.for_shop else self.state.shop_last_read

    @property
    def my_last_id(self) -> int:
        """The id of this side's last message (0 when it wrote none)."""
        mine = [m.id for m in self.messages if m.is_shop == self.for_shop]
        return mine[-1] if mine else 0

    @property
    def seen(self) -> bool:
        """The last message is this side's and the other side has read it ("Seen" under it)."""
        last = self.my_last_id
        return bool(last) and last == self.messages[-1].id and self.seen_up_to >= last


def check_body(body: object) -> str:
    """Plain text of 1 to MAX_BODY characters after trimming; line breaks kept."""
    if not isinstance(body, str):
        raise InvalidInput("Write a message.")
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("Write a message: it is empty.")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"A message holds at most {MAX_BODY} characters; this one has {len(text)}.")
    if "\x00" in text:
        raise InvalidInput("Text may not contain NUL characters.")
    return text


def check_client_id(client_id: object) -> str:
    if (
        not isinstance(client_id, str)
        or not 0 < len(client_id) <= MAX_CLIENT_ID
        or not all(c.isalnum() or c in "-_" for c in client_id)
    ):
        raise InvalidInput(f"client_id must be 1 to {MAX_CLIENT_ID} letters, digits, - or _ (a UUID).")
    return client_id


def side_for(reader: Reader, order: Order | None, as_shop: bool | None = None) -> bool:
    """Whether ``reader`` takes part in the order's thread as the shop (True) or as
    its owner (False); NotFound when they take no part (or not on the side asked)."""
    if order is None:
        raise NotFound(NO_SUCH_ORDER)
    owner = order.user_id == reader.user_id
    shop = reader.is_admin and (as_shop is True or (as_shop is None and not owner))
    if shop:
        return True
    if owner and as_shop is not True:
        return False
    raise NotFound(NO_SUCH_ORDER)


def send_message(
    reader: Reader,
    order_id: int,
    body: object,
    client_id: object,
    rate_per_minute: int,
    as_shop: bool | None = None,
) -> dict:
    """Store one message and its notifications; the payload of the stored message,
    as its author's side sees it. The same ``client_id`` again returns the message
    stored the first time (and stores, notifies and pushes nothing)."""
    text, client_id = check_body(body), check_client_id(client_id)
    try:
        with write_transaction() as session:
            order = locked_order(session, order_id)
            for_shop = side_for(reader, order, as_shop)
            existing = _by_client_id(session, reader.user_id, client_id)
            if existing is not None:
                return _same_order(existing, order_id).to_payload(for_shop)
            _check_budget(session, reader.user_id, rate_per_minute)
            message = OrderMessage(
                order_id=order.id, author_id=reader.user_id, is_shop=for_shop, body=text, client_id=client_id
            )
            session.add(message)
            session.flush()
            _record_in_thread(session, order, message)
            _notify_other_side(session, order, message)
            publisher.queue_message(session, message)
            return message.to_payload(for_shop)
    except IntegrityError:
        # The order lock makes a second send of one client id wait and find the
        # first; this is the backstop (a client id reused on another order).
        existing = _by_client_id(db.session, reader.user_id, client_id)
        if existing is None:
            raise
        return _same_order(existing, order_id).to_payload(bool(existing.is_shop))


def read_messages(reader: Reader, order_id: int, up_to_id: int, as_shop: bool | None = None) -> int:
    """The reader's side has read the thread up to ``up_to_id``: record it, mark the
    side's message notifications of this order read (every admin's, for the shop),
    tell every tab; return the reader's unread notification count."""
    with write_transaction() as session:
        order = session.get(Order, order_id)
        for_shop = side_for(reader, order, as_shop)
        _mark_read(session, order, for_shop, up_to_id)
        return unread_count(reader.user_id)


def thread_for(reader: Reader, order: Order | ShownOrder, as_shop: bool | None = None) -> Thread:
    """The order's messages, oldest first, for a page; reading them marks them read.

    An order's first message writes its thread's row in the same transaction
    (_record_in_thread), so an order without that row has no message to read;
    one written since comes with the page's catch-up, as any message after the page does.
    """
    for_shop = side_for(reader, order, as_shop)
    order_id = order.id
    state = order.thread  # read with the order by the shopper's page (shop/services/order_page.py)
    if state is None:
        return Thread(order, [], None, for_shop)
    if state.unread_for_shop if for_shop else state.unread_for_customer:
        with write_transaction() as session:
            _mark_read(session, session.get(Order, order_id), for_shop, 2**31 - 1)
        state = db.session.get(OrderThread, order_id)
    messages = list(
        db.session.scalars(
            select(OrderMessage)
            .where(OrderMessage.order_id == order_id)
            .options(selectinload(OrderMessage.author))
            .order_by(OrderMessage.id)
        )
    )
    return Thread(order, messages, state, for_shop)


def watch_of(reader: Reader, name: str, order_id: int) -> Watch:
    """What watching the order's page means for ``reader`` (NotFound to anyone else)."""
    order = db.session.get(Order, order_id)
    for_shop = side_for(reader, order)
    return Watch(order.id, order.user_id, reader.user_id, name, for_shop)


def messages_after(watch: Watch, after_id: int) -> list[dict]:
    """What a page that shows the thread up to ``after_id`` missed (it was offline), oldest
    first, up to CATCH_UP_LIMIT, as the watcher's side sees them."""
    rows = db.session.scalars(
        select(OrderMessage)
        .where(OrderMessage.order_id == watch.order_id, OrderMessage.id > after_id)
        .options(selectinload(OrderMessage.author))
        .order_by(OrderMessage.id)
        .limit(CATCH_UP_LIMIT)
    )
    return [message.to_payload(watch.for_shop) for message in rows]


def conversations(page: int, per_page: int):
    """Every thread, those the shop has not read first, then the latest first."""
    unread = OrderThread.unread_for_shop
    statement = (
        select(OrderThread)
        .join(Order, Order.id == OrderThread.order_id)
        .options(selectinload(OrderThread.order).selectinload(Order.user))
        .order_by(unread.desc(), OrderThread.last_message_at.desc(), OrderThread.order_id.desc())
    )
    return db.paginate(statement, page=page, per_page=per_page, error_out=False)


def unread_threads() -> int:
    """How many threads hold a customer's message the shop has not read (the admin nav's count)."""
    return _unread_threads(db.session)


def last_messages(order_ids: list[int]) -> dict[int, OrderMessage]:
    """Each order's latest message (for the conversations list)."""
    if not order_ids:
        return {}
    latest = (
        select(func.max(OrderMessage.id))
        .where(OrderMessage.order_id.in_(order_ids))
        .group_by(OrderMessage.order_id)
    )
    rows = db.session.scalars(
        select(OrderMessage).where(OrderMessage.id.in_(latest)).options(selectinload(OrderMessage.author))
    )
    return {message.order_id: message for message in rows}


def _by_client_id(session: Session, author_id: int, client_id: str) -> OrderMessage | None:
    return session.scalar(
        select(OrderMessage).where(OrderMessage.author_id == author_id, OrderMessage.client_id == client_id)
    )


def _same_order(message: OrderMessage, order_id: int) -> OrderMessage:
    if message.order_id != order_id:
        raise InvalidInput("This client_id names a message on another order: make a new one.")
    return message


def _check_budget(session: Session, author_id: int, per_minute: int) -> None:
    """At most ``per_minute`` messages an author in any minute, counted in the database
    (so every worker, the socket and the forms share one budget)."""
    since = utcnow() - timedelta(minutes=1)
    sent = session.scalar(
        select(func.count())
        .select_from(OrderMessage)
        .where(OrderMessage.author_id == author_id, OrderMessage.created_at > since)
    )
    if sent >= per_minute:
        raise RateLimited(f"You sent {sent} messages in the last minute: wait a little before the next.")


def _record_in_thread(session: Session, order: Order, message: OrderMessage) -> None:
    """The thread's last message of the author's side; the author has read what they wrote."""
    state = session.get(OrderThread, order.id)
    if state is None:
        state = OrderThread(order_id=order.id)
        session.add(state)
    if message.is_shop:
        state.last_shop_message_id = message.id
        state.shop_last_read = message.id
    else:
        state.last_customer_message_id = message.id
        state.customer_last_read = message.id
    state.last_message_at = message.created_at
    session.flush()


def _notify_other_side(session: Session, order: Order, message: OrderMessage) -> None:
    preview = message.body[:PREVIEW]
    data = {"order_id": order.id, "message_id": message.id}
    if message.is_shop:
        title = f"{SHOP_NAME} answered about order #{order.id}"
        notify(session, order.user_id, MESSAGE, title, body=preview, url=f"/orders/{order.id}", data=data)
    else:
        data.update(customer=order.user.name, unread_threads=_unread_threads(session))
        title = f"{order.user.name} wrote about order #{order.id}"
        notify_admins(session, MESSAGE, title, body=preview, url=f"/admin/orders/{order.id}", data=data)


def _mark_read(session: Session, order: Order, for_shop: bool, up_to_id: int) -> None:
    state = session.get(OrderThread, order.id)
    if state is None:
        return
    last = state.last_customer_message_id if for_shop else state.last_shop_message_id
    read_up_to = min(up_to_id, max(last, state.shop_last_read if for_shop else state.customer_last_read))
    if for_shop:
        if read_up_to <= state.shop_last_read:
            return
        state.shop_last_read = read_up_to
    else:
        if read_up_to <= state.customer_last_read:
            return
        state.customer_last_read = read_up_to
    readers = _clear_message_notifications(session, order, for_shop)
    for user_id in readers:
        publisher.queue_unread(session, user_id, unread_count(user_id))
    side = SHOP if for_shop else CUSTOMER
    publisher.queue_messages_read(
        session, order.id, order.user_id, side, read_up_to, _unread_threads(session)
    )


def _clear_message_notifications(session: Session, order: Order, for_shop: bool) -> list[int]:
    """Mark the side's unread message notifications of this order read; whose they were."""
    url = f"/admin/orders/{order.id}" if for_shop else f"/orders/{order.id}"
    owners = User.is_admin if for_shop else User.id == order.user_id
    where = (
        Notification.kind == MESSAGE,
        Notification.url == url,
        ~Notification.read,
        Notification.user_id.in_(select(User.id).where(owners)),
    )
    user_ids = list(session.scalars(select(Notification.user_id).where(*where).distinct()))
    if user_ids:
        session.execute(
            update(Notification).where(*where).values(read=True).execution_options(synchronize_session=False)
        )
    return sorted(user_ids)


def _unread_threads(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OrderThread).where(OrderThread.unread_for_shop))
