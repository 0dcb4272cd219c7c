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

FROM debian:bookworm-slim AS runtime-base
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tesseract-ocr tesseract-ocr-eng tesseract-ocr-kor \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 worker
USER worker
ENV OMP_THREAD_LIMIT=1

FROM runtime-base AS extract-worker
COPY --from=build /src/target/release/extract-worker /src/target/release/lol-ocr /src/target/release/jobctl /usr/local/bin/
ENTRYPOINT ["extract-worker"]

FROM runtime-base AS cleanup-worker
COPY --from=build /src/target/release/cleanup-worker /src/target/release/jobctl /usr/local/bin/
ENTRYPOINT ["cleanup-worker"]

FROM runtime-base AS scheduler
COPY --from=build /src/target/release/scheduler /src/target/release/jobctl /usr/local/bin/
ENTRYPOINT ["scheduler"]
