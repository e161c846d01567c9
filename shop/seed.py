"""Demo accounts, categories and products with photos for `flask seed` (idempotent:
a second run adds nothing)."""

from sqlalchemy import func, select

from shop.extensions import db
from shop.models import Category, Product, User
from shop.seed_photos import demo_photo
from shop.services import accounts, catalog, photos, shipping
from shop.services.catalog import ProductFields

DEMO_ADMIN = ("admin@example.com", "Ada Admin", "admin-demo-pass")
DEMO_SHOPPER = ("shopper@example.com", "Sam Shopper", "shopper-demo-pass")

# name, price in cents, stock, low-stock threshold, description
PRODUCTS = [
    (
        "Ceramic Pour-Over Coffee Dripper",
        2400,
        34,
        5,
        "Hand-glazed stoneware dripper for size 02 filters; spiral ribs for an even extraction.",
    ),
    (
        "Stainless Steel Gooseneck Kettle",
        5900,
        12,
        4,
        "1 litre kettle with a thin spout for a slow, precise pour. Works on gas, electric and induction.",
    ),
    (
        "Single-Origin Ethiopia Yirgacheffe, 250 g",
        1450,
        58,
        10,
        "Washed beans with notes of jasmine, bergamot and lemon. Roasted light, every Monday.",
    ),
    (
        "House Espresso Blend, 1 kg",
        3200,
        3,
        5,
        "Brazil and Guatemala with a touch of robusta: chocolate, hazelnut and a thick crema.",
    ),
    (
        "Burr Coffee Grinder",
        8900,
        7,
        3,
        "Conical steel burrs and 40 grind settings, from espresso to cold brew.",
    ),
    (
        "Glass Cold Brew Bottle",
        2200,
        0,
        3,
        "1 litre borosilicate bottle with a fine mesh filter; steep overnight in the fridge.",
    ),
    (
        "Loose Leaf Sencha, 100 g",
        1190,
        41,
        8,
        "Steamed green tea from Shizuoka, grassy and sweet. Brew at 70 °C for one minute.",
    ),
    (
        "Cast Iron Teapot, 0.8 l",
        4600,
        9,
        3,
        "Enamel-lined tetsubin with a stainless infuser basket; keeps tea hot for an hour.",
    ),
    (
        "Double-Walled Glass Mugs, set of 2",
        2600,
        22,
        5,
        "Mouth-blown glasses that keep drinks hot and hands cool; 350 ml each.",
    ),
    (
        "Linen Tea Towels, set of 3",
        1800,
        30,
        6,
        "Stonewashed European flax, soft from the first use and more absorbent with every wash.",
    ),
    (
        "Oak Cutting Board, large",
        4900,
        6,
        2,
        "45 × 30 cm end-grain oak, oiled by hand. Gentle on knives, hard on onions.",
    ),
    (
        "Chef's Knife, 20 cm",
        11900,
        4,
        3,
        "Forged from one piece of high-carbon German steel; full tang and a balanced handle.",
    ),
    (
        "Enamelled Dutch Oven, 26 cm",
        17900,
        2,
        2,
        "4.7 litre cast iron casserole for braises, bread and soups; oven-safe to 250 °C.",
    ),
    (
        "Carbon Steel Frying Pan, 28 cm",
        5400,
        15,
        4,
        "Pre-seasoned pan that gets better with age; the cook's alternative to non-stick.",
    ),
    (
        "Wooden Spoon Set",
        1600,
        48,
        8,
        "Three olive-wood spoons carved from one branch each: stirring, tasting and serving.",
    ),
    (
        "Beeswax Food Wraps, set of 4",
        1500,
        0,
        5,
        "Washable cotton wraps coated in beeswax, tree resin and jojoba oil.",
    ),
    (
        "Glass Storage Jars, set of 6",
        3400,
        18,
        4,
        "Airtight jars with bamboo lids for grains, pasta and coffee; 1 litre each.",
    ),
    (
        "Sourdough Starter Kit",
        2900,
        11,
        3,
        "A live rye starter, a proofing basket, a lame and a printed guide to your first loaf.",
    ),
    (
        "Olive Oil, Extra Virgin, 500 ml",
        1650,
        64,
        12,
        "Cold-pressed Koroneiki olives from one family farm in Crete; peppery and fresh.",
    ),
    (
        "Flaky Sea Salt, 250 g",
        750,
        80,
        15,
        "Hand-harvested pyramid crystals to finish steaks, salads and chocolate cookies.",
    ),
    (
        "Merino Wool Throw",
        8900,
        5,
        2,
        "130 × 180 cm throw in undyed merino; light enough for summer evenings.",
    ),
    (
        "Scented Soy Candle: Fig & Cedar",
        2400,
        27,
        6,
        "45 hours of clean burn in a reusable amber jar; cotton wick.",
    ),
    (
        "Ceramic Planter with Saucer",
        3100,
        1,
        3,
        "Matte white planter for plants up to 15 cm pots, with a drainage hole.",
    ),
    (
        "Canvas Tote Bag",
        1400,
        75,
        10,
        "Heavy 12 oz organic cotton with an inside pocket; carries a week of groceries.",
    ),
    (
        "Notebook, Dot Grid A5",
        1250,
        39,
        8,
        "192 numbered pages of 100 g/m² paper that takes fountain pens without bleeding.",
    ),
    (
        "Fountain Pen, Medium Nib",
        3900,
        0,
        3,
        "Steel nib, piston filler and a clear body to watch the ink level.",
    ),
    (
        "Bamboo Desk Organiser",
        2700,
        14,
        4,
        "Three compartments and a phone stand; keeps the desk tidy and the cables hidden.",
    ),
    (
        "Wireless Reading Lamp",
        4500,
        8,
        3,
        "Warm dimmable LED with a 20-hour battery; clips to a book or stands on a table.",
    ),
    ("Wool Slippers", 3600, 20, 5, "Felted wool with a natural rubber sole; warm without getting sweaty."),
    ("Cotton Bath Towel, Sage", 2900, 4, 5, "600 g/m² Turkish cotton, soft and quick to dry; 70 × 140 cm."),
]


# category: (the shape its demo photos show, its products by the position in PRODUCTS)
CATEGORIES = {
    "Coffee": ("cup", [0, 1, 2, 3, 4, 5, 8]),
    "Tea": ("cup", [1, 6, 7, 8]),
    "Pantry": ("jar", [2, 3, 6, 16, 17, 18, 19]),
    "Kitchen": ("board", [9, 10, 11, 12, 13, 14, 15, 16]),
    "Home": ("cloth", [20, 21, 22, 23, 27, 28, 29]),
    "Desk": ("notebook", [24, 25, 26, 27]),
}
# The products shown from closer up as well (a second photo, for the gallery).
TWO_PHOTOS = range(8)


def seed_demo(with_photos: bool = True) -> int:
    """Create what is missing, through the services, and return how many records were added.

    The photos are drawn and re-encoded here (a few seconds): tests that need
    no photos leave them out.
    """
    created = 0
    for email, name, password in (DEMO_ADMIN, DEMO_SHOPPER):
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            accounts.register(email, name, password, is_admin=email == DEMO_ADMIN[0])
            created += 1
    had_categories = db.session.scalar(select(func.count(Category.id)))
    categories = _demo_categories()
    created += len(categories) - had_categories
    existing = set(db.session.scalars(select(Product.name)))
    for number, (name, price, stock, threshold, description) in enumerate(PRODUCTS):
        if name not in existing:
            in_categories = tuple(
                categories[c] for c, (_, members) in CATEGORIES.items() if number in members
            )
            fields = ProductFields(
                name, description, price, threshold, active=True, category_ids=in_categories
            )
            catalog.create_product(fields, stock)
            created += 1
    if with_photos:
        created += _demo_photos()
    return created + shipping.ensure_default_methods()


def _demo_categories() -> dict[str, int]:
    """Each demo category's id, made if missing."""
    ids = {}
    for name in CATEGORIES:
        found = db.session.scalar(select(Category.id).where(Category.name == name))
        ids[name] = found or catalog.save_category(name).id
    return ids


def _demo_photos() -> int:
    added = 0
    for number, row in enumerate(PRODUCTS):
        product = db.session.scalar(select(Product).where(Product.name == row[0]))
        if product is None or product.photos:
            continue
        shape = next((shape for shape, members in CATEGORIES.values() if number in members), "cup")
        views = [False, True] if number in TWO_PHOTOS else [False]
        uploads = [photos.Upload(f"{shape}.png", demo_photo(row[0], shape, closer)) for closer in views]
        added += len(photos.add_photos(product.id, uploads))
    return added
