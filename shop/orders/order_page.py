"""A shopper's order page, around the order's own part, kept while the order is unchanged.

The lines, totals, delivery, payment and timeline are the order's alone: they are rendered
from it without the request (templates/orders/_order_body.html) and kept in the worker's
cache for ORDER_PAGE_KEEP_SECONDS. Every change of an order bumps its version in the
change's transaction (shop/services/changes.py), and the page reads the version with the
order's head, the statement that also finds the order to be this shopper's; a kept part is
shown only while the version is the one it was rendered at, so a change made on any worker
shows at once. The status badge, the cancel form, the conversation and the push offer are
rendered on every request.
"""

from dataclasses import dataclass

from flask import current_app, render_template
from flask_login import current_user
from markupsafe import Markup

from shop.extensions import cache
from shop.forms import MessageForm
from shop.services import messages, push
from shop.services.messages import Reader
from shop.services.order_page import ShownOrder, head, in_full


@dataclass(frozen=True)
class OrderBody:
    version: int  # the order's, as rendered
    lines: Markup
    details: Markup
    timeline: Markup


def render(order_id: int, message_form: MessageForm | None = None) -> str:
    """The signed-in shopper's order page (``message_form`` as refused); NotFound if not theirs."""
    order = head(current_user.id, order_id)
    return render_template(
        "orders/detail.html",
        order=order,
        body=order_body(order),
        thread=messages.thread_for(Reader.of(current_user), order, as_shop=False),
        message_form=(message_form or MessageForm(formdata=None)).fresh(),
        push_offer=push.offers_push(current_user.id),
    )


def order_body(order: ShownOrder) -> OrderBody:
    """The order's own part of its page: the kept one while the order's version is unchanged."""
    key = f"order-body:{order.id}"
    kept = cache.get(key)
    if kept is not None and kept.version == order.version:
        return kept
    body = _render(in_full(order))
    cache.set(key, body, timeout=current_app.config["ORDER_PAGE_KEEP_SECONDS"])
    return body


def _render(order: ShownOrder) -> OrderBody:
    macros = current_app.jinja_env.get_template("orders/_order_body.html").module
    return OrderBody(
        version=order.version,
        lines=Markup(macros.lines(order)),
        details=Markup(macros.details(order)),
        timeline=Markup(macros.timeline(order)),
    )
