# One image per service, built from this multi-stage file:
#   docker build --target extract-worker -t lol-extract-worker .
# The build stage compiles every binary once; each final stage copies one onto a slim Debian.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libtesseract-dev libleptonica-dev libclang-dev clang pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bins

# The PP-OCRv4 detection and recognition models (layout and second reader) and ONNX Runtime, the library that
# runs them, out of the PyPI wheels that ship them, each checked against its digest: fetched at build time, never
# at run time. The models are then fused (scripts/fuse_ppocr_model.py, as scripts/install-deps.sh does) and the
# results checked against their digests too. The digests are scripts/checked-files.sha256, install-deps.sh's list.
FROM python:3.11.14-slim-bookworm AS ppocr-model
COPY scripts/fuse_ppocr_model.py scripts/fuse-requirements.txt scripts/checked-files.sha256 /
RUN pip download --no-deps -q -d /wheel rapidocr_onnxruntime==1.4.4 \
 && python -c "import glob, zipfile; w = zipfile.ZipFile(glob.glob('/wheel/rapidocr*.whl')[0]); [open('/' + n, 'wb').write(w.read('rapidocr_onnxruntime/models/' + n)) for n in ('ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx')]" \
 && cd / && grep -E '  ch_PP-OCRv4_(det|rec)_infer\.onnx$' checked-files.sha256 | sha256sum -c - \
 && pip download --no-deps --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 -q -d /wheel onnxruntime==1.31.1 \
 && python -c "import glob, zipfile; w = zipfile.ZipFile(glob.glob('/wheel/onnxruntime-*.whl')[0]); open('/libonnxruntime.so.1.31.1', 'wb').write(w.read('onnxruntime/capi/libonnxruntime.so.1.31.1'))" \
 && pip install -q -r /fuse-requirements.txt \
 && python /fuse_ppocr_model.py /ch_PP-OCRv4_det_infer.onnx /ch_PP-OCRv4_det_infer.fused.onnx \
 && python /fuse_ppocr_model.py /ch_PP-OCRv4_rec_infer.onnx /ch_PP-OCRv4_rec_infer.fused.onnx \
 && sha256sum -c checked-files.sha256

FROM debian:bookworm-slim AS runtime-base
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tesseract-ocr tesseract-ocr-eng tesseract-ocr-kor fonts-nanum \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 worker
USER worker
ENV OMP_THREAD_LIMIT=1

FROM runtime-base AS extract-worker
COPY --from=build /src/target/release/extract-worker /src/target/release/lol-ocr /src/target/release/jobctl /usr/local/bin/
COPY --from=ppocr-model /ch_PP-OCRv4_det_infer.fused.onnx /ch_PP-OCRv4_rec_infer.fused.onnx /usr/local/share/lol-ocr/
COPY --from=ppocr-model /libonnxruntime.so.1.31.1 /usr/local/lib/lol-ocr/
ENTRYPOINT ["extract-worker"]

FROM runtime-base AS lol-ocr
COPY --from=build /src/target/release/lol-ocr /usr/local/bin/
COPY --from=ppocr-model /ch_PP-OCRv4_det_infer.fused.onnx /ch_PP-OCRv4_rec_infer.fused.onnx /usr/local/share/lol-ocr/
COPY --from=ppocr-model /libonnxruntime.so.1.31.1 /usr/local/lib/lol-ocr/
EXPOSE 8090
ENTRYPOINT ["lol-ocr", "serve"]

FROM runtime-base AS cleanup-worker
COPY --from=build /src/target/release/cleanup-worker /src/target/release/jobctl /usr/local/bin/
ENTRYPOINT ["cleanup-worker"]

FROM runtime-base AS scheduler
COPY --from=build /src/target/release/scheduler /src/target/release/jobctl /usr/local/bin/
ENTRYPOINT ["scheduler"]

FROM runtime-base AS outbox-relay
COPY --from=build /src/target/release/outbox-relay /usr/local/bin/
ENTRYPOINT ["outbox-relay"]
