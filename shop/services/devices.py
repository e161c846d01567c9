"""A name a person recognises for the browser behind a User-Agent ("Firefox on Linux")."""

# Checked in order: Edge's and Opera's strings also name Chrome and Safari,
# Chrome's also names Safari, and Android's also names Linux.
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("CriOS/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
MAX_PRODUCT_NAME = 40


def describe_device(user_agent: str) -> str:
    browser = next((name for token, name in BROWSERS if token in user_agent), None)
    system = next((name for token, name in SYSTEMS if token in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    # Not a browser we know: the program's own name ("curl", "python-requests").
    return user_agent.split("/", 1)[0].strip()[:MAX_PRODUCT_NAME] or "Unknown browser"
