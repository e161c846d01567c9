"""The entry point: `python wsgi.py` serves the shop (HTTP and Socket.IO).

The async library is patched before anything else is imported, so that
sockets, Redis and the PostgreSQL driver cooperate with it.
"""

import os
import warnings

# eventlet's deprecation notice is known and answered in DESIGN.md.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet")
if ASYNC_MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
    from psycogreen.eventlet import patch_psycopg
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()
    from psycogreen.gevent import patch_psycopg
else:
    patch_psycopg = None

from serving import serve  # noqa: E402
from shop import create_app  # noqa: E402
from shop.extensions import socketio  # noqa: E402

if patch_psycopg is not None:
    patch_psycopg()

app = create_app()

if __name__ == "__main__":
    serve(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))

__all__ = ["app", "socketio"]
