# genai-scaffold: the two commands of the README, and the pieces they are made of.

DEMO_DIR ?= $(CURDIR)/target/demo
# Caches that only save time, outside the clone so that a second CI run on the same machine
# reuses them (cargo's fingerprints and the npm lock hashes keep them correct; a cold machine
# runs the same checks): the generator's build, the matrix's shared target folder, its npm
# installs and scratch projects, the infrastructure tools' virtualenv (cfn-lint, checkov, SAM
# CLI, moto, made by scripts/install-test-deps.sh).
CACHE ?= $(HOME)/.cache/genai-scaffold
TEST_TARGET_DIR ?= $(CACHE)/target
MATRIX_CACHE ?= $(CACHE)/matrix
MATRIX_TARGET_DIR ?= $(MATRIX_CACHE)/target
MATRIX_INFRA_VENV ?= $(CACHE)/infra-venv
# Node.js 22 from the npm registry (scripts/install-test-deps.sh), for the checks the matrix
# runs on it besides the machine's Node.js.
MATRIX_NODE22 ?= $(CACHE)/node22
export MATRIX_CACHE MATRIX_TARGET_DIR MATRIX_INFRA_VENV MATRIX_NODE22
# A CI run on a fresh machine builds each crate once: incremental compilation's caches cost it
# time and disk and save nothing there, so CI turns them off for every cargo it starts (the
# matrix's and the generated projects' too); a developer's repeated runs keep them.
ifeq ($(CI),true)
export CARGO_INCREMENTAL ?= 0
endif

.PHONY: demo test install-test-deps check matrix after-matrix update-builds labs bench workshop-offline-check

demo: ## Generate a project with the defaults and run it on loopback (Ctrl-C stops)
	cargo build --release
	rm -rf $(DEMO_DIR)/demo-app
	mkdir -p $(DEMO_DIR)
	./target/release/genai-scaffold new $(DEMO_DIR)/demo-app --yes
	$(MAKE) -C $(DEMO_DIR)/demo-app dev

test: install-test-deps check matrix after-matrix ## Install test tools, then run every test

# The two checks that reuse the matrix's builds, side by side: they build in different target
# folders and each spends much of its time waiting on a stack or a test it started, so
# together they take about as long as the longer one (warm: update-builds 27 s beside labs
# 86 s; cold they took 100 s and 122 s in turn).
after-matrix:
	$(MAKE) --no-print-directory -j2 --output-sync=target update-builds labs

install-test-deps:
	NODE22_DIR=$(MATRIX_NODE22) bash scripts/install-test-deps.sh

# A hung test fails the run instead of stalling it; cargo test has by then named each test
# running for over 60 s.
CHECK_TIMEOUT ?= 20m

# Line tables only: backtraces keep file and line, and a cold build skips the full debug
# info of every dependency, which no test reads.
TEST_DEBUG ?= line-tables-only

check: export CARGO_TARGET_DIR ?= $(TEST_TARGET_DIR)
check: export CARGO_PROFILE_DEV_DEBUG ?= $(TEST_DEBUG)
check: ## The generator's own lints and tests
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	# --all-targets leaves out the matrix (test = false in Cargo.toml): linted by name.
	cargo clippy --test matrix -- -D warnings
	cargo clippy --test labs -- -D warnings
	PYTHONPATH=tests/standin timeout 5m $(MATRIX_INFRA_VENV)/bin/python -m unittest discover -s tests/standin
	timeout $(CHECK_TIMEOUT) cargo test || { status=$$?; [ $$status -ne 124 ] || \
		echo "error: cargo test ran past $(CHECK_TIMEOUT); the tests it names above as running long are the ones to look at" >&2; \
		exit $$status; }

# cargo never prunes a target folder, and each template change adds builds of the workspace
# crates to the matrix's: past MATRIX_TARGET_MAX_GB it starts empty (that run is a cold one).
MATRIX_TARGET_MAX_GB ?= 40

# The test profile, as `check` built it: the matrix only starts commands.
matrix: export CARGO_TARGET_DIR ?= $(TEST_TARGET_DIR)
matrix: export CARGO_PROFILE_DEV_DEBUG ?= $(TEST_DEBUG)
matrix: ## Generate all 30 combinations; check each at the dimension it depends on
	@used=$$(du -s --block-size=1G $(MATRIX_TARGET_DIR) 2>/dev/null | cut -f1); \
	if [ "$${used:-0}" -gt $(MATRIX_TARGET_MAX_GB) ]; then \
		echo "matrix: $(MATRIX_TARGET_DIR) holds $$used GB, over MATRIX_TARGET_MAX_GB=$(MATRIX_TARGET_MAX_GB): emptying it"; \
		rm -rf $(MATRIX_TARGET_DIR); \
	fi
	cargo test --test matrix

# tests/update.rs also builds the project it updated and resolved, and runs the tests of the
# crate its user changed, on the matrix's target folder: after the matrix, whose builds of the
# same dependencies (same profile settings) make that a matter of seconds, not minutes.
update-builds: export CARGO_TARGET_DIR ?= $(TEST_TARGET_DIR)
update-builds: export CARGO_PROFILE_DEV_DEBUG ?= $(TEST_DEBUG)
update-builds: ## Build and test a project genai-scaffold update brought up to date
	UPDATE_BUILD_TARGET=$(MATRIX_TARGET_DIR) timeout 15m cargo test --test update -- \
		--exact update_takes_the_templates_changes_keeps_the_users_and_marks_each_conflict_inline

# tests/labs.rs runs the workshop's lab guide (template/docs/workshop) step by step with each
# make lab-check, on a project generated from examples/workshop.toml: after the matrix, on the
# target folder of its make dev check and its node_modules installs, so that make dev and make
# smoke build in seconds (make bench's release build is the runner's own, kept there too).
labs: export CARGO_TARGET_DIR ?= $(TEST_TARGET_DIR)
labs: export CARGO_PROFILE_DEV_DEBUG ?= $(TEST_DEBUG)
labs: ## Run every lab of the generated workshop guide and its checkpoint, in order, on the local stack
	LABS_TARGET=$(MATRIX_CACHE)/kept/dev-local.target LABS_NODE_CACHE=$(MATRIX_CACHE)/node_modules \
		timeout 30m cargo test --test labs -- --nocapture

# The workshop's room without network, for real (scripts/workshop-offline-check.sh): root for
# unshare, about 8 minutes on 2 cores (the bundle compiles make dev twice), so not part of make test.
workshop-offline-check: export CARGO_TARGET_DIR ?= $(TEST_TARGET_DIR)
workshop-offline-check: ## Bundle the workshop project, install it and answer in a namespace with no network
	cargo build --quiet
	GENERATOR=$(CARGO_TARGET_DIR)/debug/genai-scaffold bash scripts/workshop-offline-check.sh

BENCH_PROJECT ?= $(CURDIR)/target/bench-project

bench: ## One performance report: generation, functions, local stack, coalescing, load
	bash scripts/install-cargo-generate.sh
	rm -rf $(BENCH_PROJECT).new
	cargo run --release --quiet -- new $(BENCH_PROJECT).new --name bench-app --yes
	python3 scripts/bench-report.py $(BENCH_PROJECT).new $(BENCH_PROJECT) $(MATRIX_TARGET_DIR)
