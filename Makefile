# The two commands of the README are `make demo` and `make test`; the rest are conveniences.
.PHONY: demo test test-faults check deps stack-up stack-down bench-runtime bench-auto-done bench-ocr bench-extract

demo:        ## run the main job end to end on the local stack
	scripts/demo.sh

test:        ## install and start every service the tests need, run the whole suite
	scripts/test.sh $(ARGS)

test-faults: ## 10,000 jobs on a 3-node NATS cluster under worker, node, Postgres and S3 faults (~2.5 min)
	scripts/test.sh --run-ignored only --no-capture -E 'test(ten_thousand_jobs)'

check:       ## formatting and lints, as required before a commit
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

deps:        ## install system packages and servers (idempotent)
	scripts/install-deps.sh

stack-up:    ## start the local stack and print its environment
	scripts/stack.sh up

stack-down:  ## stop the local stack
	scripts/stack.sh down

bench-runtime:   ## no-op jobs: this runtime vs Graphile Worker (table for the README)
	scripts/bench-runtime.sh

bench-auto-done: ## the auto-done UPDATE over 1,000,000 sessions (needs `make stack-up`)
	cargo bench -p scheduler --bench auto_done

# The original plan's reader (PyPI `rapidocr-onnxruntime`, pinned) in a virtualenv of its own,
# made again when its requirements change.
PPOCR_VENV := target/ppocr-venv
$(PPOCR_VENV)/installed: bench/ppocr/requirements.txt
	python3 -m venv $(PPOCR_VENV)
	$(PPOCR_VENV)/bin/pip install -q --disable-pip-version-check -r $<
	touch $@

bench-ocr: $(PPOCR_VENV)/installed ## OCR accuracy and speed on the real captures (with the original plan's reader), then the synthetic set; then what the confidences mean on both, with altered rosters; then the real captures halved, at three quarters, JPEG-compressed, enlarged and cut by a pixel or two; then `lol-ocr serve` under 1, 2 and 8 clients
	PPOCR_PYTHON=$(CURDIR)/$(PPOCR_VENV)/bin/python OMP_THREAD_LIMIT=1 cargo bench -p ocr-service --bench accuracy -- $(CURDIR)/../shared/endscreens/real
	BENCH_NO_PPOCR=1 OMP_THREAD_LIMIT=1 cargo bench -p ocr-service --bench accuracy -- $(CURDIR)/../shared/endscreens/public
	OMP_THREAD_LIMIT=1 cargo bench -p ocr --bench confidence -- $(CURDIR)/../shared/endscreens/real
	OMP_THREAD_LIMIT=1 cargo bench -p ocr --bench confidence -- $(CURDIR)/../shared/endscreens/public
	OMP_THREAD_LIMIT=1 cargo bench -p ocr --bench variants -- $(CURDIR)/../shared/endscreens/real
	OMP_THREAD_LIMIT=1 cargo bench -p ocr-service --bench serve -- $(CURDIR)/../shared/endscreens/real

bench-extract:   ## screenshots per minute through the extract worker, 1 and 2 processes (needs `make stack-up`)
	eval "$$(scripts/stack.sh env)" && cargo bench -p extract-worker --bench throughput
