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

# The PP-OCRv4 recognition model (the OCR's second reader), out of the PyPI wheel that ships it,
# checked against its digest: fetched at build time, never at run time.
FROM python:3.11.14-slim-bookworm AS ppocr-model
RUN pip download --no-deps -q -d /wheel rapidocr_onnxruntime==1.4.4 \
 && python -c "import glob, zipfile; open('/model.onnx', 'wb').write(zipfile.ZipFile(glob.glob('/wheel/*.whl')[0]).read('rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx'))" \
 && echo "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b  /model.onnx" | sha256sum -c -

FROM debian:bookworm-slim AS runtime-base
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tesseract-ocr tesseract-ocr-eng tesseract-ocr-kor \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 worker
USER worker
ENV OMP_THREAD_LIMIT=1

FROM runtime-base AS extract-worker
COPY --from=build /src/target/release/extract-worker /src/target/release/lol-ocr /src/target/release/jobctl /usr/local/bin/
COPY --from=ppocr-model /model.onnx /usr/local/share/lol-ocr/ch_PP-OCRv4_rec_infer.onnx
ENTRYPOINT ["extract-worker"]

FROM runtime-base AS cleanup-worker
COPY --from=build /src/target/release/cleanup-worker /src/target/release/jobctl /usr/local/bin/
ENTRYPOINT ["cleanup-worker"]

FROM runtime-base AS scheduler
COPY --from=build /src/target/release/scheduler /src/target/release/jobctl /usr/local/bin/
ENTRYPOINT ["scheduler"]
