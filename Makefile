# Mobile secure gateway. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
TOOL := $(GO) tool -modfile=tools/go.mod
BUF := $(TOOL) buf
# The googleapis protos come from a Go module (no network proto registry):
GOOGLEAPIS_MOD := github.com/grpc-ecosystem/grpc-gateway@v1.16.0
DEV_DIR ?= .dev
# Fuzz budget per target. make test uses an execution count, not a duration:
# a time budget races with the fuzzer's minimizer on a loaded 2-core box.
FUZZTIME ?= 3s
TEST_FUZZTIME ?= 5000x

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: run
run: ## run the gateway in embedded dev mode (PKI, demo host, policy in .dev/)
	$(GO) run ./cmd/msg-gateway dev --dir $(DEV_DIR)

.PHONY: tools
tools: ## download and build the pinned code generators and test tools
	cd tools && $(GO) mod download
	$(GO) build -modfile=tools/go.mod -o /dev/null tool

.build/googleapis/google/api/annotations.proto:
	@dir=$$(cd tools && $(GO) mod download -json $(GOOGLEAPIS_MOD) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -n "$$dir" || { echo "cannot locate $(GOOGLEAPIS_MOD)"; exit 1; }; \
	  rm -rf .build/googleapis && mkdir -p .build/googleapis && \
	  cp -r "$$dir/third_party/googleapis/google" .build/googleapis/ && chmod -R u+w .build/googleapis

.PHONY: googleapis
googleapis: .build/googleapis/google/api/annotations.proto

.PHONY: generate
generate: googleapis ## regenerate gen/ from proto/ with buf
	rm -rf gen
	$(BUF) generate proto

.PHONY: buf-lint
buf-lint: googleapis ## lint the protos (buf STANDARD) and check their formatting
	$(BUF) lint proto
	$(BUF) format -d --exit-code proto

.PHONY: check-generate
check-generate: generate ## fail when regenerating changes gen/
	@git add -N gen && git diff --exit-code --stat -- gen || { echo "gen/ is stale: run 'make generate' and commit"; exit 1; }

.PHONY: lint
lint: buf-lint ## buf lint, gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...

.PHONY: test
test: tools lint check-generate ## lint, check generated code, vet, race tests and short fuzz runs
	$(GO) test -race -count=1 ./...
	$(MAKE) fuzz FUZZTIME=$(TEST_FUZZTIME)

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 3s; try FUZZTIME=2m)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

.PHONY: build
build: ## build msg-gateway and msgctl into bin/
	$(GO) build -o bin/ ./cmd/...

.PHONY: bench
bench: ## run the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...
