"""Support shared by tests/ and bench/, one module per kind:

- processes: free ports, waiting for readiness, ending a child process, its memory, CPU and files
- apps: the app in the test's own process (config, test client, a database of either kind)
- data: factories (``make_*`` in the test's app, ``insert_*`` into another process's database)
- images: photos and the files an upload must refuse (SVG, HTML, polyglots, truncated, a bomb)
- crowd: thousands of signed-in shoppers inserted in bulk, with their signed cookies (storm, bench)
- services: PostgreSQL, Redis, and a redis-server of a test's own
- queues: a proxy in front of Redis that makes a subscriber deaf, for the deaf-worker test
- server: LiveServer, `python wsgi.py` on a free port with its own database
- shopper: Shopper, a browser-like HTTP session on a live server; Auth on the test client
- sockets: LiveSocket (python-socketio), RawSocket (raw frames), without_time
- sioclient: the lean asyncio Socket.IO client that holds thousands of sockets (bench, soak)
- flooder: a process flooding one socket, for the flood test
- nginx: deploy/nginx.conf and run-workers.sh as production runs them, and sockets through them
- browser, steps: Chromium for the browser tests, and what a person does in the shop
- smtp: a real SMTP server in the test's process (aiosmtpd, or refusing), and one that hangs
- faults: a server that kills itself between commit and emit, or whose next notification publish fails
- metrics: /metrics parsed as Prometheus reads it
- pushservice: a Web Push service in the test's process that checks VAPID and decrypts each push
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
