#!/usr/bin/env bash
# Make sure what the tests need is there: PostgreSQL and Redis answering on
# their usual ports (started if installed but stopped), nginx and Chromium
# installed (from Debian's packages, when we are root). Under CI=true a
# missing piece is an error; elsewhere the tests that need it skip.
set -u
missing=()

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! answers 5432 && ls /etc/postgresql >/dev/null 2>&1; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
answers 5432 || missing+=("PostgreSQL on 127.0.0.1:5432")

if ! answers 6379 && command -v redis-server >/dev/null; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  sleep 0.5
fi
answers 6379 || missing+=("Redis on 127.0.0.1:6379")

apt_packages=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_packages+=(nginx-light)
command -v chromium >/dev/null || apt_packages+=(chromium)
command -v openssl >/dev/null || apt_packages+=(openssl)  # the nginx tests make a certificate
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${apt_packages[*]} from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
    # nginx must not keep port 80 busy: the tests start their own.
    command -v service >/dev/null && service nginx stop >/dev/null 2>&1 || true
  else
    echo "Missing ${apt_packages[*]}: install with  sudo apt-get install ${apt_packages[*]}"
  fi
fi
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=("nginx")
command -v chromium >/dev/null || missing+=("chromium")

if [ ${#missing[@]} -gt 0 ]; then
  echo "Not available: ${missing[*]}"
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true: the tests that need them must run, so this is an error." >&2
    exit 1
  fi
  echo "The tests that need them will be skipped."
fi
exit 0
