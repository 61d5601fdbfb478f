# Sourced by run.sh and test.sh: make ./.venv with a Python >= 3.11.
# On a fresh Debian the interpreter may lack venv/ensurepip
# (package python3-venv); install it when we can.

find_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 &&
       "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "omnitui needs Python 3.11 or newer (none found on PATH)" >&2
  return 1
}

ensure_venv() {
  if [ -x .venv/bin/python ] && .venv/bin/python -c 'import pip' 2>/dev/null; then
    return 0
  fi
  local py
  py=$(find_python)
  if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
    local pkg
    pkg="python3-venv $("$py" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}-venv")')"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "Installing $pkg ..." >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkg >/dev/null \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    else
      echo "Python's venv module is missing: run  sudo apt-get install $pkg  and try again" >&2
      return 1
    fi
  fi
  rm -rf .venv
  "$py" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
}
