# Steward — build, test, benchmark and fuzz. `make test` is the one command
# that runs every check; .ci/run calls it.

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
FUZZTIME  ?= 30s
BENCHTIME ?= 1s

.PHONY: all build test lint unit bench fuzz tools clean

all: build

## build: the steward binary in ./bin
build:
	$(GO) build -trimpath -o bin/steward ./cmd/steward

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
	    ms = $$3 / 1e6; printf "%-44s %8d runs %12.3f ms/op %14s B/op %10s allocs/op %s\n", $$1, $$2, ms, $$(NF-3), $$(NF-1), extra; next } \
	  /^(ok|FAIL|---)/ { print }'

## fuzz: each fuzz target for FUZZTIME (default 30s): the loader, the template
## scanner, the journal's record parser and its JSON validator
fuzz:
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzScanTemplate$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./engine/journal -run '^$$' -fuzz '^FuzzParseBody$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./engine/journal -run '^$$' -fuzz '^FuzzValidJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

## tools: what `make test` needs beyond Go
tools:
	$(GO) install honnef.co/go/tools/cmd/staticcheck@latest

clean:
	rm -rf bin
