# Quick Chat — every command a developer or CI needs. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT      := $(CURDIR)
DEV       := $(ROOT)/.dev
BIN       := $(DEV)/bin
# Every module in go.work; ./... stops at module boundaries, so we loop over them.
MODULES    = $(shell go list -m -f '{{.Dir}}')
SQLC_VERSION := v1.31.1
GO_TEST_FLAGS ?= -count=1 -timeout=10m

export PATH := $(BIN):$(PATH)

.PHONY: help
help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## install what is missing: PostgreSQL, Redis, protoc (apt), Kafka jars (Maven), Go tools
	bash .ci/install-deps.sh
	$(MAKE) tools

.PHONY: tools
tools: $(BIN)/sqlc $(BIN)/protoc-gen-go

$(BIN)/sqlc:
	GOBIN=$(BIN) go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

# protoc-gen-go at the version the proto module requires, so output matches go.mod.
$(BIN)/protoc-gen-go: proto/go.mod
	cd proto && GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go
	@touch $@

.PHONY: generate
generate: tools ## regenerate sqlc and protobuf code
	cd db && sqlc generate
	cd proto && protoc --go_out=. --go_opt=paths=source_relative chat/v1/*.proto

.PHONY: check-generated
check-generated: tools ## fail if committed generated code is stale
	cd db && sqlc diff
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  (cd proto && protoc --go_out=$$tmp --go_opt=paths=source_relative chat/v1/*.proto) && \
	  for f in $$(cd $$tmp && find . -name '*.go'); do \
	    diff -u proto/$$f $$tmp/$$f || { echo "proto/$$f is stale: run make generate"; exit 1; }; \
	  done
	@echo "generated code is up to date"

.PHONY: vet
vet: ## gofmt check and go vet of every module
	@unformatted=$$(gofmt -l $(MODULES)); if [[ -n "$$unformatted" ]]; then echo "not gofmt-ed:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do echo "vet $$m"; (cd $$m && go vet ./...) || exit 1; done

.PHONY: build
build: ## build the three services into .dev/bin
	@for s in gateway realtime persister; do go build -o $(BIN)/$$s ./services/$$s || exit 1; done

.PHONY: test
test: deps vet check-generated ## unit + integration + end-to-end tests on real PostgreSQL, Redis and Kafka
	bash .ci/test.sh

.PHONY: test-faults
test-faults: deps ## fault injection on the running system; rewrites docs/reliability.md
	bash .ci/faults.sh

.PHONY: dev
dev: deps ## run the whole system locally (real PostgreSQL, Redis, Kafka + all services); Ctrl-C stops it
	go build -o $(BIN)/devstack ./harness/devstack/cmd/devstack
	$(BIN)/devstack dev -dir $(DEV)/run -exit-with-parent

.PHONY: dev-cluster
dev-cluster: deps ## make dev on the secured, clustered stack: 3 SASL_SSL Kafka brokers, TLS + ACL Redis Cluster, TLS PostgreSQL
	go build -o $(BIN)/devstack ./harness/devstack/cmd/devstack
	$(BIN)/devstack dev -secure -dir $(DEV)/run-cluster -exit-with-parent

.PHONY: bench
bench: deps ## run the benchmarks and rewrite docs/benchmarks.md
	bash .ci/bench.sh

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 10m)
	bash .ci/fuzz.sh $${FUZZTIME:-10m}

.PHONY: clean
clean: ## remove local servers' data and built binaries (keeps the Kafka jars)
	rm -rf $(DEV)/run $(DEV)/test-stack $(BIN)/gateway $(BIN)/realtime $(BIN)/persister
