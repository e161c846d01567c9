"""The flask CLI: database set-up, demo data, and admin actions for cron jobs.

Admin actions run the same services as the web pages, so with
SOCKETIO_MESSAGE_QUEUE set their pushes reach every worker's clients.
"""

import click
from flask import Flask, current_app

from shop.extensions import db
from shop.seed import seed_demo
from shop.services import accounts, catalog, orders, payments
from shop.services.errors import DomainError


def register(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(seed)
    app.cli.add_command(create_admin)
    app.cli.add_command(demote_admin)
    app.cli.add_command(prune_sessions)
    app.cli.add_command(run_background)
    app.cli.add_command(orders_group)
    app.cli.add_command(stock_group)


@click.command("init-db")
def init_db() -> None:
    """Create the tables that do not exist yet (development and tests)."""
    db.create_all()
    click.echo("Database ready.")


@click.command("seed")
def seed() -> None:
    """Add the demo accounts and products, unless they are there already."""
    created = seed_demo()
    click.echo(f"Seeded {created} new record(s)." if created else "Demo data already present.")


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Admin")
@click.password_option()
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account, or make an existing account an admin."""
    try:
        accounts.ensure_admin(email, name, password)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{email} is an admin.")


@click.command("demote-admin")
@click.argument("email")
def demote_admin(email: str) -> None:
    """Take admin rights away from EMAIL, at once (its open sockets leave the admins room)."""
    try:
        accounts.demote_admin(email)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{email} is no longer an admin.")


@click.command("run-background")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between looks for due mail.")
def run_background(poll: float) -> None:
    """Run the background jobs (mail, pruning) in this process until interrupted."""
    from shop import background

    background.run_forever(current_app._get_current_object(), max(poll, 0.1))


@click.command("prune-sessions")
def prune_sessions() -> None:
    """Delete expired login sessions (run it from cron, e.g. daily)."""
    pruned = accounts.prune_sessions()
    click.echo(f"Pruned {pruned} expired login session(s).")


@click.group("orders")
def orders_group() -> None:
    """Order actions."""


@orders_group.command("set-status")
@click.argument("order_id", type=int)
@click.argument("status")
@click.option("--note", default="")
@click.option("--actor", default=None, help="Admin email recorded on the timeline.")
@click.option("--ship-unpaid", is_flag=True, help="Ship an order to be paid first although it is not paid.")
def set_status(order_id: int, status: str, note: str, actor: str | None, ship_unpaid: bool) -> None:
    """Move ORDER_ID to STATUS, and tell the customer live."""
    try:
        order = orders.change_status(order_id, status, accounts.admin_id(actor), note, ship_unpaid)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Order #{order.id} is now {order.status}.")


@orders_group.command("set-payment")
@click.argument("order_id", type=int)
@click.argument("status")
@click.option("--note", default="")
@click.option("--actor", default=None, help="Admin email recorded on the payment timeline.")
def set_payment(order_id: int, status: str, note: str, actor: str | None) -> None:
    """Mark ORDER_ID's payment STATUS (unpaid, paid, refunded), and tell the customer live."""
    try:
        order = payments.set_payment_status(order_id, status, accounts.admin_id(actor), note)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Order #{order.id} is now {order.payment_status}.")


@click.group("stock")
def stock_group() -> None:
    """Stock actions."""


@stock_group.command("set")
@click.argument("product_id", type=int)
@click.argument("quantity", type=int)
def set_stock(product_id: int, quantity: int) -> None:
    """Set PRODUCT_ID's stock to QUANTITY, and tell watchers live."""
    try:
        product = catalog.set_stock(product_id, quantity)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{product.name}: stock {product.stock}.")
