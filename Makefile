# Steward — build, test, benchmark and fuzz. `make test` is the one command
# that runs every check; .ci/run calls it.

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
BENCH     ?= .

# protoc comes from Debian (protobuf-compiler); these generators are
# pinned so that `make proto` reproduces the committed code byte for byte.
PROTOC_GEN_GO      ?= v1.36.12
PROTOC_GEN_GO_GRPC ?= v1.6.2
STRIPE_MOCK        ?= latest
GETH               ?= v1.16.7

# Plugin binaries: every plugins/NAME folder with a main package.
PLUGINS := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))

.PHONY: all build test lint unit postgres bench fuzz tools tools-debian tools-go tools-npm proto clean

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

## unit: every test with the race detector. cmd/steward's whole-process
## tests (200 kills of the crash test among them) take 5 minutes on an idle
## 2-core machine and more on a busy one: past go test's 10-minute default.
unit: postgres
	$(GO) test -race -count=1 -timeout 30m ./...

## postgres: a PostgreSQL for the tests at 127.0.0.1:5432 (user postgres,
## database test), unless STEWARD_TEST_DATABASE_URL names another: when
## none answers, start Debian's cluster (make tools installs postgresql),
## trusting connections from 127.0.0.1 (a test machine's setting), and
## create the test database. The journal's PostgreSQL tests fail, saying
## so, without one.
postgres:
	@.ci/postgres

## bench: every benchmark (or those BENCH matches), as a table (BENCHTIME=3s
## for steadier numbers).
## In a package with BenchmarkGoHello (cmd/steward: whole steward
## processes), each line also gives its ratio to that Go hello binary,
## measured in the same run.
bench: postgres
	@$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./... | awk '\
	  /^Benchmark/ { extra = ""; for (i = 4; i < NF; i++) if ($$(i+1) == "ns/step") extra = sprintf("%10.2f µs/step", $$i / 1e3); \
	      else if ($$(i+1) ~ /-µs$$/) extra = extra sprintf("  %s %s", $$i, $$(i+1)); \
	    ms = $$3 / 1e6; n++; ops[n] = ms; if ($$1 ~ /^BenchmarkGoHello/) hello = ms; \
	    lines[n] = sprintf("%-44s %8d runs %12.3f ms/op %14s B/op %10s allocs/op %s", $$1, $$2, ms, $$(NF-3), $$(NF-1), extra); next } \
	  /^(ok|FAIL)/ { for (i = 1; i <= n; i++) { r = ""; if (hello > 0) r = sprintf("  %6.1fx hello", ops[i] / hello); print lines[i] r } \
	    n = 0; hello = 0; print; next } \
	  /^---/ { print }'

## fuzz: each fuzz target for FUZZTIME (default 30s): the loader, the template
## scanner, the journal's record parser and its JSON validator
fuzz:
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzScanTemplate$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./engine/journal -run '^$$' -fuzz '^FuzzParseBody$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./engine/journal -run '^$$' -fuzz '^FuzzValidJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

## tools: everything the tests need, so that `make tools test` passes on a
## fresh Debian machine: the Debian packages (tools-debian) and the Go
## tools (tools-go).
tools: tools-debian tools-go

# The Debian packages the tests need: gcc and libc6-dev for the race
# detector (it needs cgo); git makes a real checkout for the Git commit
# test; python3 runs the export verifier of docs/audit.md;
# protobuf-compiler (protoc) checks that the committed plugin protocol code
# is what plugin.proto generates; the access plugin's tests start a real
# OpenLDAP slapd (slapd, ldap-utils); the notify plugin's start a real SMTP
# server, aiosmtpd under Debian's /usr/bin/python3 (python3-aiosmtpd); the
# observability plugin's start a real Prometheus server (prometheus); the
# PostgreSQL journal store's tests run against a real PostgreSQL
# (postgresql; make postgres starts it); the web console's browser test
# drives a headless Chromium (chromium); curl runs the README's request to
# steward serve; node and npm (nodejs, npm) install and run the npm
# packages of tools-npm.
# Elsewhere: install their equivalents, then `make tools-go tools-npm`.
DEBIAN_PACKAGES ?= gcc libc6-dev git python3 protobuf-compiler slapd ldap-utils python3-aiosmtpd postgresql prometheus chromium curl nodejs npm

## tools-debian: the missing DEBIAN_PACKAGES, with apt-get (through sudo
## when not root). A package counts as installed when an installed
## package provides it: NodeSource's nodejs provides npm, which Debian's
## npm package would conflict with.
tools-debian:
	@missing=""; \
	provided="$$(dpkg-query -W -f='$${db:Status-Abbrev}|$${Provides},\n' 2>/dev/null | grep '^ii')"; \
	for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q ' ok installed$$' || \
	    printf '%s\n' "$$provided" | grep -Eq "[|,] ?$$p( \([^)]*\))?," || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "Debian packages: all installed ($(DEBIAN_PACKAGES))"; exit 0; fi; \
	echo "Debian packages to install:$$missing"; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make tools: the tests need$$missing, and there is no apt-get here: install them (or their equivalents) with your package manager, then run make tools-go tools-npm" >&2; exit 1; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; echo "not root: apt-get through sudo"; \
	else echo "make tools: installing$$missing needs root, and sudo is not installed: run make tools as root, or as root: apt-get update && apt-get install -y$$missing" >&2; exit 1; \
	fi; \
	if ! { $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }; then \
	  if [ -n "$$sudo" ]; then echo "make tools: apt-get through sudo could not install$$missing (see above): as root, run apt-get update && apt-get install -y$$missing" >&2; \
	  else echo "make tools: apt-get could not install$$missing (see above)" >&2; fi; exit 1; \
	fi

## tools-go: staticcheck, and the real peers the plugin tests run against:
## stripe-mock (Stripe's own mock of its API, @latest so that requests are
## checked against Stripe's current published API) and geth (a dev-mode
## Ethereum node; v1.17 needs a module version the proxy refuses). With
## empty Go caches on 2 cores its first build took 6.5 to 10 minutes.
tools-go:
	$(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	$(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK)
	$(GO) install github.com/ethereum/go-ethereum/cmd/geth@$(GETH)

## tools-npm: the npm packages the tests drive, ajv (JSON Schema 2020-12)
## and yaml-language-server (the schema tests) and axe-core (the console's
## browser test), as pinned in .tools/package-lock.json,
## into .tools/node_modules (ignored by git; nothing global). Needs node
## and npm (Debian: nodejs, npm).
tools: tools-npm
tools-npm:
	@command -v npm >/dev/null || { echo "tools-npm: npm is not installed (Debian: apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix .tools --no-audit --no-fund

clean:
	rm -rf bin
