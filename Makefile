# `make run` serves the shop; `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := shop:create_app
SOCKETIO_CLIENT := static/vendor/socket.io.min.js

.PHONY: run test bench screenshots audit soak lint setup db services clean

run: setup db
	$(PY) wsgi.py

test: $(VENV)/.dev-installed $(SOCKETIO_CLIENT) services
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.dev-installed $(SOCKETIO_CLIENT) services
	command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || echo "install wrk for the page-throughput figures"
	$(PY) bench/run.py

# Refresh docs/screenshots/ from the browser tests.
screenshots: $(VENV)/.dev-installed $(SOCKETIO_CLIENT) services
	SCREENSHOTS=1 $(PY) -m pytest tests/browser/test_screenshots.py

# Known vulnerabilities in requirements.txt (also part of `make test`).
audit: $(VENV)/.dev-installed
	$(PY) -m tests.security.audit_requirements

# A long soak (CI runs a one-minute one inside `make test`).
soak: $(VENV)/.dev-installed $(SOCKETIO_CLIENT)
	$(PY) -m tests.soak.soak --seconds $${SOAK_SECONDS:-600} --sockets 500

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

setup: $(VENV)/.installed $(SOCKETIO_CLIENT)

db: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) seed

services:
	bash scripts/ensure-services.sh

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

# The official Socket.IO browser client, from the npm registry (not committed).
$(SOCKETIO_CLIENT): package.json
	npm install --no-audit --no-fund --silent
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/
	cp node_modules/socket.io-client/dist/socket.io.min.js.map static/vendor/ 2>/dev/null || true

clean:
	rm -rf $(VENV) node_modules static/vendor
