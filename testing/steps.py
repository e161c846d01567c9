"""What a person does in the shop, as Playwright steps on the DOM contract."""

from playwright.sync_api import Locator, Page, expect

from shop.seed import DEMO_ADMIN
from testing.data import PASSWORD, unique_email

ADMIN = (DEMO_ADMIN[0], DEMO_ADMIN[2])


def register(page: Page, name: str = "Robin Browser") -> str:
    """Create a new account through the form; return its email (the session is signed in)."""
    email = unique_email("robin")
    page.goto("/auth/register")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status").filter(has_text=f"Welcome, {name}!")).to_be_visible()
    return email


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("status").filter(has_text="Welcome back")).to_be_visible()


def search(page: Page, words: str) -> None:
    """Search from the header, as a visitor would."""
    page.get_by_role("searchbox", name="Search products").fill(words)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=f"Results for “{words}”")).to_be_visible()


def open_product(page: Page, name: str) -> int:
    """Click a product in the list; return its id from the page."""
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    return int(page.locator("[data-product-page]").get_attribute("data-product-id"))


def add_to_cart(page: Page, quantity: int = 1) -> None:
    """On a product page: add ``quantity`` and land on the cart."""
    page.locator("[data-add-to-cart]").get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()


def check_out(page: Page) -> int:
    """From the cart: on to checkout, type an address if none is saved yet, place
    the order (standard delivery, paid on delivery: the page's first choices),
    land on its page, return its id."""
    page.goto("/cart")
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("heading", name="Checkout", exact=True)).to_be_visible()
    if page.get_by_label("Full name").is_visible():
        fill_address(page)
    page.get_by_role("button", name="Place order").click()
    order_page = page.locator("[data-order-page]")
    expect(order_page).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="is placed")).to_be_visible()
    return int(order_page.get_attribute("data-order-id"))


def fill_address(page: Page, postcode: str = "1015 CJ") -> None:
    """Type a delivery address in the checkout page's (or the address book's) form."""
    page.get_by_label("Full name").fill("Robin Browser")
    page.get_by_label("Street and number").fill("Keizersgracht 123")
    page.get_by_label("Postcode").fill(postcode)
    page.get_by_label("Town or city").fill("Amsterdam")
    page.get_by_label("Country").select_option("NL")
    page.get_by_label("Phone").fill("+31 20 123 4567")


def buy(page: Page, words: str, name: str, quantity: int = 1) -> int:
    """Search, open, add to cart and check out: the id of the new order."""
    page.goto("/")
    search(page, words)
    open_product(page, name)
    add_to_cart(page, quantity)
    return check_out(page)


def set_order_status(admin: Page, order_id: int, status: str) -> None:
    """On the admin order page, move the order along with the form."""
    if not admin.url.endswith(f"/admin/orders/{order_id}"):
        admin.goto(f"/admin/orders/{order_id}")
    admin.get_by_label("New status").select_option(status)
    admin.get_by_role("button", name="Update status").click()
    expect(admin.get_by_role("status").filter(has_text=f"is now {status}")).to_be_visible()


def set_stock(admin: Page, product_id: int, stock: int) -> None:
    """On the admin product page, set the stock with its form."""
    admin.goto(f"/admin/products/{product_id}/edit")
    admin.locator("form[action$='/stock']").get_by_label("Stock").fill(str(stock))
    admin.get_by_role("button", name="Set stock").click()
    expect(admin.get_by_role("status").filter(has_text=f"stock is now {stock}")).to_be_visible()


def open_live(page: Page, path: str) -> None:
    """Open ``path``, wait until its socket is live, and mark the document (see mark_page)."""
    page.goto(path)
    wait_until_live(page)
    mark_page(page)


def wait_until_live(page: Page) -> None:
    """The socket is connected and synced: pushes from now on reach this page."""
    expect(indicator(page)).to_have_attribute("data-state", "live")


def indicator(page: Page) -> Locator:
    return page.locator("[data-live-indicator]")


def order_status(page: Page) -> Locator:
    return page.locator("[data-order-page] [data-order-status]")


def timeline_entries(page: Page) -> Locator:
    return page.locator("[data-timeline] > li")


def toast(page: Page, kind: str) -> Locator:
    return page.locator(f"[data-toasts] .toast[data-kind='{kind}']")


def unread_badge(page: Page) -> Locator:
    return page.locator("[data-unread-badge]")


def mark_page(page: Page) -> None:
    """Leave a mark in the page's window: a reload or navigation would wipe it."""
    page.evaluate("() => { window.__sameDocument = true; }")


def still_same_document(page: Page) -> bool:
    return page.evaluate("() => window.__sameDocument === true")


def thread_messages(page: Page) -> Locator:
    """The messages of the order conversation on an order page (the shopper's or the admin's)."""
    return page.locator("[data-thread] [data-messages] > li")


def send_message(page: Page, text: str) -> None:
    """Write in the order page's conversation box and send it."""
    thread = page.locator("[data-thread]")
    thread.get_by_label("Your message").fill(text)
    thread.get_by_role("button", name="Send").click()


def seeded_product_id(name: str) -> int:
    """The id of a demo product (shop/seed.py adds them in order, from id 1)."""
    from shop.seed import PRODUCTS

    return next(number for number, row in enumerate(PRODUCTS, start=1) if row[0] == name)
