# Steward — build, test, benchmark and fuzz. `make test` is the one command
# that runs every check; .ci/run calls it.

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
FUZZTIME  ?= 30s
BENCHTIME ?= 1s

# protoc comes from Debian (protobuf-compiler); these generators are
# pinned so that `make proto` reproduces the committed code byte for byte.
PROTOC_GEN_GO      ?= v1.36.12
PROTOC_GEN_GO_GRPC ?= v1.6.2
STRIPE_MOCK        ?= latest
GETH               ?= v1.16.7

# Plugin binaries: every plugins/NAME folder with a main package.
PLUGINS := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))

.PHONY: all build test lint unit bench fuzz tools proto clean

all: build

## build: steward and the bundled plugins (steward-plugin-NAME) in ./bin,
## a default plugin folder. Plugins are stripped: smaller binaries hash
## faster at every start.
build:
	$(GO) build -trimpath -o bin/steward ./cmd/steward
	@for p in $(PLUGINS); do \
	  echo "$(GO) build -trimpath -ldflags='-s -w' -o bin/steward-plugin-$$p ./plugins/$$p"; \
	  $(GO) build -trimpath -ldflags='-s -w' -o bin/steward-plugin-$$p ./plugins/$$p || exit 1; \
	done

## proto: regenerate plugins/proto/v1 from plugin.proto (needs protoc)
proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC)
	protoc --go_out=. --go_opt=paths=source_relative \
	  --go-grpc_out=. --go-grpc_opt=paths=source_relative plugins/proto/v1/plugin.proto

## test: formatting, vet, staticcheck and every test with the race detector
test: lint unit

lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	staticcheck ./...

unit:
	$(GO) test -race -count=1 ./...

## bench: every benchmark, as a table (BENCHTIME=3s for steadier numbers)
bench:
	@$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem ./... | awk '\
	  /^Benchmark/ { extra = ""; for (i = 4; i < NF; i++) if ($$(i+1) == "ns/step") extra = sprintf("%10.2f µs/step", $$i / 1e3); \
	      else if ($$(i+1) ~ /-µs$$/) extra = extra sprintf("  %s %s", $$i, $$(i+1)); \
	    ms = $$3 / 1e6; printf "%-44s %8d runs %12.3f ms/op %14s B/op %10s allocs/op %s\n", $$1, $$2, ms, $$(NF-3), $$(NF-1), extra; next } \
	  /^(ok|FAIL|---)/ { print }'

## fuzz: each fuzz target for FUZZTIME (default 30s): the loader, the template
## scanner, the journal's record parser and its JSON validator
fuzz:
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzScanTemplate$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./engine/journal -run '^$$' -fuzz '^FuzzParseBody$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./engine/journal -run '^$$' -fuzz '^FuzzValidJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

## tools: staticcheck, and the real peers the plugin tests run against:
## stripe-mock (Stripe's own mock of its API, @latest so that requests are
## checked against Stripe's current published API) and geth (a dev-mode
## Ethereum node; v1.17 needs a module version the proxy refuses). The
## first geth build takes a minute or two.
tools:
	$(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	$(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK)
	$(GO) install github.com/ethereum/go-ethereum/cmd/geth@$(GETH)

clean:
	rm -rf bin
