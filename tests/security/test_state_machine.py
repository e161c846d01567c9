"""A Hypothesis state machine over the shop's pages: shoppers add, update,
remove, check out (with either shipping method and way to pay) and cancel; an
admin moves orders along, records payments and sets stock.

After every step: the cart page's items total is Σ price × quantity of the
cart, no quantity or stock is below zero, every order's items total is Σ of
its lines and its total that plus the shipping its method charged, its payment
timeline leads to its payment status, no bank-transfer order shipped unpaid
(the admin here never confirms that), and for each product, stock + units in
live (not cancelled) orders is what it started at plus the admin's stock
changes. No step answers 500.
"""

import re
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from shop import create_app
from shop.extensions import db
from shop.models import CartItem, Order, OrderItem, Product
from shop.models.order import CANCELLED, PAID, PAYMENT_STATUSES, SHIPPED, STATUSES
from shop.services import accounts, shipping
from shop.services.totals import shipping_cents
from testing.apps import ShopClient, make_config
from testing.data import make_product, make_user
from testing.shopper import checkout_fields

CART_TOTAL = re.compile(rb"data-items-total>\xe2\x82\xac([0-9.]+)<")
SHOPPERS = ("alice", "bob")
PRICES = (1250, 399, 10000)
QUANTITIES = st.one_of(st.integers(-2, 6), st.sampled_from(["99", "100", "", "x", "1.5", "1e3", " 2 "]))


def signed_in_client(app, user):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = accounts.start_session(user.id)
        session["_fresh"] = True
    return client


class ShopMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.app = create_app(make_config())
        self.app.test_client_class = ShopClient
        self.context = self.app.app_context()
        self.context.push()
        db.create_all()
        shipping.ensure_default_methods()
        self.methods = {method.code: method for method in shipping.offered_methods()}
        users = {name: make_user(f"{name}@example.com", name.title()) for name in SHOPPERS}
        users["admin"] = make_user("admin@example.com", "Ada", admin=True)
        self.clients = {name: signed_in_client(self.app, user) for name, user in users.items()}
        self.product_ids = [
            make_product(f"Product {n}", price_cents=price, stock=n + 1, threshold=1).id
            for n, price in enumerate(PRICES)
        ]
        # stock + units in live orders, per product: changes only when the admin sets stock
        self.conserved = {pid: n + 1 for n, pid in enumerate(self.product_ids)}
        self.last_forms: dict[str, dict[str, str]] = {}

    def teardown(self):
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
        self.context.pop()

    def post(self, who: str, url: str, data: dict | None = None):
        response = self.clients[who].post(url, data=data or {})
        assert response.status_code < 500, f"{who} POST {url} {data}: {response.status_code}"
        assert response.status_code in (200, 302, 400, 403, 404, 409), response.status_code
        return response

    def order_ids(self) -> list[int]:
        db.session.rollback()
        return list(db.session.scalars(select(Order.id).order_by(Order.id)))

    # -- shoppers ------------------------------------------------------------------

    @rule(who=st.sampled_from(SHOPPERS), product=st.integers(0, 2), quantity=QUANTITIES)
    def add(self, who, product, quantity):
        self.post(who, f"/cart/add/{self.product_ids[product]}", {"quantity": quantity})

    @rule(who=st.sampled_from(SHOPPERS), product=st.integers(0, 2), quantity=QUANTITIES)
    def update(self, who, product, quantity):
        self.post(who, f"/cart/update/{self.product_ids[product]}", {"quantity": quantity})

    @rule(who=st.sampled_from(SHOPPERS), product=st.integers(0, 2))
    def remove(self, who, product):
        self.post(who, f"/cart/remove/{self.product_ids[product]}")

    @rule(
        who=st.sampled_from(SHOPPERS),
        again=st.booleans(),
        method=st.sampled_from(["standard", "express"]),
        payment=st.sampled_from(["bank_transfer", "pay_on_delivery"]),
    )
    def checkout(self, who, again, method, payment):
        """Check out with the checkout page's form, or submit the last form a second time."""
        if again and who in self.last_forms:
            form = self.last_forms[who]
        elif self.cart_of(who):
            page = self.clients[who].get("/checkout").data
            form = checkout_fields(page, shipping_method=method, payment_method=payment)
        else:
            form = {"idempotency_key": "empty-cart"}
        self.last_forms[who] = form
        self.post(who, "/checkout", {**form, "total": "1", "price": "0"})

    @precondition(lambda self: self.order_ids())
    @rule(who=st.sampled_from(SHOPPERS), pick=st.integers(0, 50))
    def cancel(self, who, pick):
        ids = self.order_ids()
        self.post(who, f"/orders/{ids[pick % len(ids)]}/cancel")

    # -- the admin -----------------------------------------------------------------

    @precondition(lambda self: self.order_ids())
    @rule(pick=st.integers(0, 50), status=st.sampled_from(STATUSES))
    def admin_status(self, pick, status):
        ids = self.order_ids()
        self.post("admin", f"/admin/orders/{ids[pick % len(ids)]}/status", {"status": status})

    @precondition(lambda self: self.order_ids())
    @rule(pick=st.integers(0, 50), status=st.sampled_from(PAYMENT_STATUSES))
    def admin_payment(self, pick, status):
        ids = self.order_ids()
        self.post("admin", f"/admin/orders/{ids[pick % len(ids)]}/payment", {"payment-status": status})

    @rule(product=st.integers(0, 2), stock=st.one_of(st.integers(0, 8), st.sampled_from([-1, "x", ""])))
    def admin_stock(self, product, stock):
        pid = self.product_ids[product]
        before = self.stock(pid)
        self.post("admin", f"/admin/products/{pid}/stock", {"stock": stock})
        self.conserved[pid] += self.stock(pid) - before

    @rule(
        product=st.integers(0, 2), price=st.sampled_from(["0.01", "3.99", "12.50", "99999.99", "-1", "NaN"])
    )
    def admin_price(self, product, price):
        pid = self.product_ids[product]
        self.post(
            "admin",
            f"/admin/products/{pid}/edit",
            {"name": f"Product {product}", "price": price, "low_stock_threshold": "1", "active": "y"},
        )

    # -- what must always hold --------------------------------------------------------

    def cart_of(self, who: str) -> list[CartItem]:
        db.session.rollback()
        return list(
            db.session.scalars(
                select(CartItem).join(CartItem.product).where(CartItem.user_id == self.user_id(who))
            )
        )

    def user_id(self, who: str) -> int:
        from shop.models import User

        return db.session.scalar(select(User.id).where(User.email == f"{who}@example.com"))

    def stock(self, product_id: int) -> int:
        db.session.rollback()
        return db.session.scalar(select(Product.stock).where(Product.id == product_id))

    @invariant()
    def cart_total_is_the_sum_of_its_lines(self):
        for who in SHOPPERS:
            page = self.clients[who].get("/cart").data
            expected = sum(item.product.price_cents * item.quantity for item in self.cart_of(who))
            shown = CART_TOTAL.search(page)
            if expected == 0 and not self.cart_of(who):
                assert shown is None
            else:
                assert int(Decimal(shown.group(1).decode()) * 100) == expected

    @invariant()
    def nothing_is_negative(self):
        db.session.rollback()
        assert db.session.scalar(select(func.min(Product.stock))) >= 0
        assert (db.session.scalar(select(func.min(CartItem.quantity))) or 1) >= 1
        assert (db.session.scalar(select(func.max(CartItem.quantity))) or 0) <= 99
        assert (db.session.scalar(select(func.min(OrderItem.quantity))) or 1) >= 1

    @invariant()
    def orders_total_their_lines_and_shipping(self):
        db.session.rollback()
        for order in db.session.scalars(select(Order)):
            assert order.items_cents == sum(line.unit_price_cents * line.quantity for line in order.items)
            method = self.methods[order.delivery.shipping_code]
            assert order.shipping_cents == shipping_cents(method, order.items_cents)
            assert order.total_cents == order.items_cents + order.shipping_cents

    @invariant()
    def payments_follow_their_timeline_and_bank_transfers_ship_paid(self):
        db.session.rollback()
        for order in db.session.scalars(select(Order)):
            steps = order.payment_events
            assert [step.from_status for step in steps] == [None] + [step.to_status for step in steps[:-1]]
            assert steps[-1].to_status == order.payment_status
            shipped = [event for event in order.events if event.to_status == SHIPPED]
            if order.payment_method == "bank_transfer" and shipped:
                when = shipped[0].created_at
                status_then = [step.to_status for step in steps if step.created_at <= when][-1]
                assert status_then == PAID, f"order {order.id} shipped while {status_then}"

    @invariant()
    def stock_plus_live_orders_is_conserved(self):
        db.session.rollback()
        live = dict(
            db.session.execute(
                select(OrderItem.product_id, func.sum(OrderItem.quantity))
                .join(Order)
                .where(Order.status != CANCELLED)
                .group_by(OrderItem.product_id)
            ).all()
        )
        for pid in self.product_ids:
            assert self.stock(pid) + live.get(pid, 0) == self.conserved[pid]


ShopMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_shop_state_machine = ShopMachine.TestCase
