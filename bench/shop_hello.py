"""The shop exactly as ``python wsgi.py`` serves it, plus one hello-world route.

For measurement (d): the catalogue and ``/bench/hello`` are then served by
the same process, server and middleware (Flask-SocketIO's WSGI wrapper,
Flask-Login, CSRF, the security headers), so their ratio is what the
shop's page costs above the bare stack.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wsgi  # noqa: E402  (monkey-patches first, then builds the app)
from serving import serve  # noqa: E402


def hello() -> str:
    return "Hello, world!"


if __name__ == "__main__":
    wsgi.app.add_url_rule("/bench/hello", "bench_hello", hello)
    serve(wsgi.app, host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
