# Mobile secure gateway. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
TOOL := $(GO) tool -modfile=tools/go.mod
BUF := $(TOOL) buf
# The googleapis protos come from a Go module (no network proto registry):
GOOGLEAPIS_MOD := github.com/grpc-ecosystem/grpc-gateway@v1.16.0
# protoc-gen-openapiv2's options protos ship in the grpc-gateway v2 module;
# the version is go.mod's, so the protos match the Go types the binary links.
OPENAPIV2_MOD := github.com/grpc-ecosystem/grpc-gateway/v2
DEV_DIR ?= .dev
NPM ?= npm
# The release that apps in the field were built from: `buf breaking` and the
# wire-compatibility test (compat/) compare the current tree with it. They read
# a committed snapshot of the release (RELEASE_SNAPSHOT, made from the tag by
# `make release-snapshot`), not the tag: CI's clones carry no tags and may be
# shallow. Cut a release with `git tag -a vX.Y.Z`, move this along and run
# `make release-snapshot`.
LAST_RELEASE ?= v0.1.0
RELEASE_SNAPSHOT = compat/testdata/release-$(LAST_RELEASE).tar.gz
# Fuzz budget per target. make test uses an execution count, not a duration:
# a time budget races with the fuzzer's minimizer on a loaded 2-core box.
FUZZTIME ?= 3s
TEST_FUZZTIME ?= 5000x
# Stamped into msg-gateway by `make build` (see `msg-gateway version`).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

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

.build/openapiv2/protoc-gen-openapiv2/options/annotations.proto: go.mod
	@dir=$$($(GO) mod download -json $(OPENAPIV2_MOD) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -n "$$dir" || { echo "cannot locate $(OPENAPIV2_MOD)"; exit 1; }; \
	  rm -rf .build/openapiv2 && mkdir -p .build/openapiv2/protoc-gen-openapiv2/options && \
	  cp "$$dir"/protoc-gen-openapiv2/options/*.proto .build/openapiv2/protoc-gen-openapiv2/options/ && \
	  chmod -R u+w .build/openapiv2

.PHONY: openapiv2-options
openapiv2-options: .build/openapiv2/protoc-gen-openapiv2/options/annotations.proto

# protoc-gen-es (TypeScript, protobuf-es) is an npm package pinned in
# tools/npm; buf runs it as a local plugin. tools/npm also pins
# google-proto-files, whose google/rpc/error_details.proto (with ErrorInfo,
# which the googleapis copy from the grpc-gateway v1 module predates) gives
# the TypeScript SDK the error details it reads (buf.gen.rpc.yaml).
RPC_PROTOS := tools/npm/node_modules/google-proto-files
tools/npm/node_modules/.bin/protoc-gen-es: tools/npm/package.json tools/npm/package-lock.json
	cd tools/npm && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: ts-plugins
ts-plugins: tools/npm/node_modules/.bin/protoc-gen-es

# The Java generators come from Maven Central at the versions sdk/kotlin/pom.xml
# pins for the SDK's runtime (protobuf-javalite, grpc-java): generated code must
# not be newer than the runtime it runs on, so the pom is the one place for them.
MVN ?= mvn
MVN_DEPENDENCY_PLUGIN := org.apache.maven.plugins:maven-dependency-plugin:3.8.1
KOTLIN_POM := sdk/kotlin/pom.xml
pom_property = $(shell sed -n 's:.*<$(1)>\(.*\)</$(1)>.*:\1:p' $(KOTLIN_POM))
PROTOC_VERSION := $(call pom_property,protobuf.version)
GRPC_JAVA_VERSION := $(call pom_property,grpc.version)
# Maven Central's classifier for this machine's native executables.
JAVA_PLUGIN_CLASSIFIER := $(subst Linux,linux,$(subst Darwin,osx,$(shell uname -s)))-$(subst aarch64,aarch_64,$(subst arm64,aarch_64,$(shell uname -m)))
JAVA_PLUGINS_STAMP := .build/java-plugins-$(PROTOC_VERSION)-$(GRPC_JAVA_VERSION)

$(JAVA_PLUGINS_STAMP):
	@test -n "$(PROTOC_VERSION)" -a -n "$(GRPC_JAVA_VERSION)" || { echo "versions missing in $(KOTLIN_POM)"; exit 1; }
	rm -rf .build/java-plugins.tmp && mkdir -p .build/bin .build/java-plugins.tmp
	$(MVN) -B -q $(MVN_DEPENDENCY_PLUGIN):copy -DoutputDirectory=.build/java-plugins.tmp \
	  -Dartifact=com.google.protobuf:protoc:$(PROTOC_VERSION):exe:$(JAVA_PLUGIN_CLASSIFIER)
	$(MVN) -B -q $(MVN_DEPENDENCY_PLUGIN):copy -DoutputDirectory=.build/java-plugins.tmp \
	  -Dartifact=io.grpc:protoc-gen-grpc-java:$(GRPC_JAVA_VERSION):exe:$(JAVA_PLUGIN_CLASSIFIER)
	install -m 0755 .build/java-plugins.tmp/protoc-$(PROTOC_VERSION)-$(JAVA_PLUGIN_CLASSIFIER).exe .build/bin/protoc
	install -m 0755 .build/java-plugins.tmp/protoc-gen-grpc-java-$(GRPC_JAVA_VERSION)-$(JAVA_PLUGIN_CLASSIFIER).exe .build/bin/protoc-gen-grpc-java
	rm -rf .build/java-plugins.tmp .build/java-plugins-* && touch $@

.PHONY: java-plugins
java-plugins: $(JAVA_PLUGINS_STAMP) ## fetch protoc and protoc-gen-grpc-java (Maven Central) into .build/bin

.PHONY: generate
generate: googleapis openapiv2-options ts-plugins java-plugins ## regenerate gen/ from proto/ with buf
	rm -rf gen
	$(BUF) generate proto
	$(BUF) generate $(RPC_PROTOS) --template buf.gen.rpc.yaml --path $(RPC_PROTOS)/google/rpc/error_details.proto
	$(BUF) generate $(RPC_PROTOS) --template buf.gen.java-rpc.yaml \
	  --path $(RPC_PROTOS)/google/rpc/status.proto --path $(RPC_PROTOS)/google/rpc/error_details.proto
	@# The admin OpenAPI document, embedded so the admin listener can serve it.
	mkdir -p gen/openapi
	cp gen/msg/admin/v1/admin.swagger.json gen/openapi/admin.swagger.json
	printf '%s\n' '// Code generated by make generate. DO NOT EDIT.' '' \
	  '// Package openapi embeds the admin API'"'"'s OpenAPI 2 document.' 'package openapi' '' \
	  'import _ "embed"' '' '// AdminJSON is gen/msg/admin/v1/admin.swagger.json.' '//' '//go:embed admin.swagger.json' \
	  'var AdminJSON []byte' > gen/openapi/openapi.go

.PHONY: buf-lint
buf-lint: googleapis openapiv2-options ## lint the protos (buf STANDARD) and check their formatting
	$(BUF) lint proto
	$(BUF) format -d --exit-code proto

.PHONY: check-generate
check-generate: generate ## fail when regenerating changes gen/
	@git add -N gen && git diff --exit-code --stat -- gen || { echo "gen/ is stale: run 'make generate' and commit"; exit 1; }

.PHONY: buf-breaking
buf-breaking: googleapis openapiv2-options ## fail on proto changes that break apps built from LAST_RELEASE (buf breaking, FILE rules)
	@test -f $(RELEASE_SNAPSHOT) || { echo "buf-breaking: $(RELEASE_SNAPSHOT) is missing; run make release-snapshot (needs the tag $(LAST_RELEASE))"; exit 1; }
	@# The release's own workspace (buf.yaml + proto/) with today's googleapis
	@# copy: the release's protos import google/api from .build like ours do.
	rm -rf .build/last-release && mkdir -p .build/last-release/.build
	tar -xzf $(RELEASE_SNAPSHOT) -C .build/last-release buf.yaml proto
	cp -r .build/googleapis .build/last-release/.build/
	$(BUF) breaking proto --against .build/last-release/proto

.PHONY: release-snapshot
release-snapshot: ## write RELEASE_SNAPSHOT from the tag LAST_RELEASE (what buf-breaking and compat/ compare with)
	@git rev-parse -q --verify 'refs/tags/$(LAST_RELEASE)' >/dev/null || { echo "release-snapshot: no tag $(LAST_RELEASE) here"; exit 1; }
	git archive --format=tar $(LAST_RELEASE) buf.yaml go.mod go.sum proto gen/msg/gateway \
	  $$(git ls-tree -r --name-only $(LAST_RELEASE) -- client | grep -v '_test\.go$$') | gzip -n -9 > $(RELEASE_SNAPSHOT)

.PHONY: lint
lint: buf-lint ## buf lint, gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...

.PHONY: test
test: tools lint check-generate buf-breaking assertion-verifier ## lint, generated code, buf breaking, vet, race tests, SDK tests, short fuzz runs, console in Chromium, TLS scan
	LAST_RELEASE=$(LAST_RELEASE) $(GO) test -race -count=1 ./...
	$(MAKE) test-ts
	$(MAKE) test-kotlin
	$(MAKE) fuzz FUZZTIME=$(TEST_FUZZTIME)
	$(MAKE) test-console
	$(MAKE) security

# The admin web console: TypeScript sources in $(CONSOLE_WEB), built with
# Vite into server/admin/console/dist, which is committed and embedded, so
# `make run` needs only Go.
CONSOLE_WEB := server/admin/console/web
CONSOLE_E2E := .build/console-e2e

$(CONSOLE_WEB)/node_modules/.package-lock.json: $(CONSOLE_WEB)/package.json $(CONSOLE_WEB)/package-lock.json
	cd $(CONSOLE_WEB) && npm ci --no-audit --no-fund --loglevel=error

.PHONY: console
console: $(CONSOLE_WEB)/node_modules/.package-lock.json ## type-check and build the web console into server/admin/console/dist
	cd $(CONSOLE_WEB) && npm run --silent build

.PHONY: check-console
check-console: console ## fail when the committed console build differs from its sources
	@git add -N server/admin/console/dist && git diff --exit-code --stat -- server/admin/console/dist || { echo "server/admin/console/dist is stale: run 'make console' and commit"; exit 1; }

.PHONY: test-console
test-console: check-console ## the console in headless Chromium (Debian's, installed when missing) against a dev gateway
	bash scripts/chromium.sh
	mkdir -p $(CONSOLE_E2E)/bin
	$(GO) build -o $(CONSOLE_E2E)/bin/ ./cmd/msg-gateway ./server/admin/console/e2e/forward ./cmd/msg-enroll
	rm -rf $(CONSOLE_E2E)/screenshots
	cd $(CONSOLE_WEB) && MSG_GATEWAY=$(CURDIR)/$(CONSOLE_E2E)/bin/msg-gateway MSG_FORWARD=$(CURDIR)/$(CONSOLE_E2E)/bin/forward MSG_ENROLL=$(CURDIR)/$(CONSOLE_E2E)/bin/msg-enroll \
	  MSG_SCREENSHOTS=$(CURDIR)/$(CONSOLE_E2E)/screenshots npm run --silent e2e

.PHONY: console-screenshots
console-screenshots: ## copy the README's two console screenshots from the last test-console run into docs/console
	mkdir -p docs/console
	cp $(CONSOLE_E2E)/screenshots/05-rules.png $(CONSOLE_E2E)/screenshots/07-policy-tester-denied.png docs/console/

.PHONY: test-kotlin
test-kotlin: ## the Android SDK's tests (Maven, JUnit 5) against a freshly built gateway in dev mode
	cd sdk/kotlin && $(MVN) -B -q test -Dmsg.go=$(GO)

.PHONY: bench-kotlin
bench-kotlin: ## the Android SDK vs OkHttp straight to HTTPS: app CPU and p50 per small GET
	cd sdk/kotlin && $(MVN) -B -q test -Dmsg.go=$(GO) -Dmsg.bench=true -Dtest=KotlinSdkBenchmark

.PHONY: security
security: ## scan the dev gateway's TLS with testssl.sh (installed from Debian when missing); ~2.5 min
	GO=$(GO) bash scripts/security.sh

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 3s; try FUZZTIME=2m)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

.PHONY: mutants
mutants: assertion-verifier ## break each security promise on purpose; fail unless its tests notice (MUTANTS=REGEXP: a subset)
	GO=$(GO) $(GO) run ./scripts/mutants $(if $(MUTANTS),-run '$(MUTANTS)')

.PHONY: build
build: ## build msg-gateway and msgctl into bin/, stamped with VERSION (git describe)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

.PHONY: bench
bench: ## gateway vs direct vs nginx mTLS: tables and chart in docs/benchmarks/ (~7 min; BENCH_QUICK=1: ~1 min)
	GO=$(GO) bash scripts/bench.sh

# The Node internal host that verifies the gateway's identity assertion with
# the jose package pinned in its lockfile (server/assertion_e2e_test.go).
ASSERTION_VERIFIER := server/assertion/testdata/verifier
.PHONY: assertion-verifier
assertion-verifier: $(ASSERTION_VERIFIER)/node_modules/.package-lock.json ## install the Node assertion verifier the server tests run
$(ASSERTION_VERIFIER)/node_modules/.package-lock.json: $(ASSERTION_VERIFIER)/package.json $(ASSERTION_VERIFIER)/package-lock.json
	cd $(ASSERTION_VERIFIER) && $(NPM) ci --no-audit --no-fund --loglevel=error

.PHONY: test-ts
test-ts: ## TypeScript SDK: npm ci, build, tests against real gateways (dev mode, serve behind the emulated mobile link)
	$(GO) build -o .build/bin/ ./cmd/msg-gateway ./internal/mobilelink/cmd/mobilelink
	cd sdk/typescript && $(NPM) ci --no-audit --no-fund && $(NPM) run build
	cd sdk/typescript && MSG_GATEWAY_BIN=$(CURDIR)/.build/bin/msg-gateway MSG_MOBILELINK_BIN=$(CURDIR)/.build/bin/mobilelink $(NPM) test

.PHONY: bench-ts
bench-ts: ## TypeScript SDK vs Node's https and fetch straight to HTTPS: CPU and p50 per small GET, memory of 64 MiB transfers
	$(GO) build -o .build/bin/msg-gateway ./cmd/msg-gateway
	cd sdk/typescript && $(NPM) ci --no-audit --no-fund && $(NPM) run build
	cd sdk/typescript && MSG_GATEWAY_BIN=$(CURDIR)/.build/bin/msg-gateway $(NPM) run bench

.PHONY: bench-mobile
bench-mobile: ## 16 MiB down (fails below 90% of the link's 5 Mbit/s) and 1 MiB up (1 Mbit/s) through the gateway over the emulated mobile link (~40 s)
	$(GO) test -run '^$$' -bench '^BenchmarkMobile(Download|Upload)$$' -benchtime 1x ./server/

.PHONY: floods
floods: ## the gateway under each pre-authorization flood beside a legitimate client: a table (~4 min; FLOODS_ARGS=...)
	GO=$(GO) bash scripts/floods.sh

.PHONY: bench-go
bench-go: ## run the Go benchmarks (go test -bench)
	$(GO) test -run '^$$' -bench . -benchmem ./...
