# The two commands of the README are `make demo` and `make test`; the rest are conveniences.
.PHONY: demo test check deps stack-up stack-down

demo:        ## run the main job end to end on the local stack
	scripts/demo.sh

test:        ## install and start every service the tests need, run the whole suite
	scripts/test.sh $(ARGS)

check:       ## formatting and lints, as required before a commit
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

deps:        ## install system packages and servers (idempotent)
	scripts/install-deps.sh

stack-up:    ## start the local stack and print its environment
	scripts/stack.sh up

stack-down:  ## stop the local stack
	scripts/stack.sh down
