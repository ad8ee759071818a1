# genai-scaffold: the two commands of the README, and the pieces they are made of.

DEMO_DIR ?= $(CURDIR)/target/demo
# The matrix shares one target folder across all combinations so dependencies build once.
MATRIX_TARGET_DIR ?= $(CURDIR)/target/matrix
# The generated projects' infrastructure tools (cfn-lint, checkov, SAM CLI, moto), installed
# once by scripts/install-test-deps.sh; outside the clone so CI machines can keep it.
MATRIX_INFRA_VENV ?= $(HOME)/.cache/genai-scaffold/infra-venv
export MATRIX_TARGET_DIR MATRIX_INFRA_VENV

.PHONY: demo test install-test-deps check matrix bench

demo: ## Generate a project with the defaults and run it on loopback (Ctrl-C stops)
	cargo build --release
	rm -rf $(DEMO_DIR)/demo-app
	mkdir -p $(DEMO_DIR)
	./target/release/genai-scaffold new $(DEMO_DIR)/demo-app --yes
	$(MAKE) -C $(DEMO_DIR)/demo-app dev

test: install-test-deps check matrix ## Install test tools, then run every test

install-test-deps:
	bash scripts/install-test-deps.sh

check: ## The generator's own lints and tests
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo test

matrix: ## Build, lint and test all 14 generated combinations
	cargo test --release --test matrix

BENCH_PROJECT ?= $(CURDIR)/target/bench-project

bench: ## One performance report: generation, functions, local stack, coalescing, load
	bash scripts/install-cargo-generate.sh
	rm -rf $(BENCH_PROJECT).new
	cargo run --release --quiet -- new $(BENCH_PROJECT).new --name bench-app --yes
	python3 scripts/bench-report.py $(BENCH_PROJECT).new $(BENCH_PROJECT) $(MATRIX_TARGET_DIR)
