#!/usr/bin/env bash
# System packages the test suite needs, installed only when missing:
#   PostgreSQL server (initdb/pg_ctl; the tests start a throwaway cluster),
#   Dovecot IMAP (the tests start their own on a loopback port).
set -euo pipefail

# Synapse (the Matrix homeserver of the tests) lives in a virtualenv of its
# own, from PyPI, so its many pins never meet omnitui's.
if [ ! -x .venv-synapse/bin/python ] || ! .venv-synapse/bin/python -c "import synapse" 2>/dev/null; then
  echo "Installing Synapse into .venv-synapse ..." >&2
  rm -rf .venv-synapse
  .venv/bin/python -m venv .venv-synapse
  .venv-synapse/bin/pip install --quiet --disable-pip-version-check "matrix-synapse>=1.100"
fi

missing=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  missing+=(postgresql)
fi
if [ ! -x /usr/sbin/dovecot ]; then
  missing+=(dovecot-imapd)
fi
if ! command -v runuser >/dev/null; then
  missing+=(util-linux)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "The tests need: ${missing[*]}. Install them with:  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's packages start servers of their own where they can; the tests
# start theirs, so stop these.
if pgrep -x dovecot >/dev/null && [ -f /etc/dovecot/dovecot.conf ]; then
  doveadm stop >/dev/null 2>&1 || true
fi
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
  done
fi
