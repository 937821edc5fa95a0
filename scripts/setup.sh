#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: Debian packages for headless rendering, then .venv with
# the exact versions of requirements.lock and LibroBot itself (editable). A second run with an
# unchanged pyproject.toml / requirements.lock does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.installed"
want=$(cat pyproject.toml requirements.lock scripts/setup.sh | sha256sum | cut -d' ' -f1)

# Headless MuJoCo rendering (MUJOCO_GL=egl) needs EGL and Mesa's software drivers.
apt_packages=(libegl1 libgl1 libgl1-mesa-dri libglib2.0-0)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  echo "setup: $VENV is up to date"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip wheel
# requirements.lock pins torch to its CPU build (torch==2.13.0+cpu). Where that wheel is not on
# disk, point pip at PyTorch's CPU index: PIP_EXTRA_INDEX_URL=<pytorch cpu index> make test
"$VENV/bin/python" -m pip install -q -r requirements.lock
"$VENV/bin/python" -m pip install -q --no-deps -e .
echo "$want" > "$STAMP"
echo "setup: $VENV ready"
