"""The address book, on the account pages: add, edit and delete delivery addresses."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from shop.forms import ActionForm, AddressForm
from shop.services import addresses
from shop.services.errors import DomainError

bp = Blueprint("addresses", __name__, url_prefix="/account/addresses")


@bp.before_request
@login_required
def require_login():
    """An address book belongs to a signed-in shopper."""


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Add an address; a refused one keeps what was typed, with a message at each wrong field."""
    form = AddressForm()
    if form.checked():
        try:
            addresses.add_address(current_user.id, form.address.form.address())
        except DomainError as exc:
            flash(exc.message, "error")
            return render_address(form, None), exc.status
        flash("Address saved.", "success")
        return redirect(url_for("account.index"))
    return render_address(form, None), 400 if form.is_submitted() else 200


@bp.route("/<int:address_id>/edit", methods=["GET", "POST"])
def edit(address_id: int):
    """Change a saved address; orders already placed keep the address they had."""
    saved = addresses.get_address(current_user.id, address_id)
    form = AddressForm(data={"address": addresses.AddressFields.of(saved).__dict__})
    if form.checked():
        addresses.update_address(current_user.id, address_id, form.address.form.address())
        flash("Address saved.", "success")
        return redirect(url_for("account.index"))
    return render_address(form, saved), 400 if form.is_submitted() else 200


@bp.route("/<int:address_id>/delete", methods=["POST"])
def delete(address_id: int):
    """Delete a saved address (orders keep their copy)."""
    addresses.delete_address(current_user.id, address_id)
    flash("Address deleted.", "info")
    return redirect(url_for("account.index"))


def render_address(form: AddressForm, saved):
    return render_template("account/address.html", form=form, saved=saved, action_form=ActionForm())
