# ordersync — make targets. Everything needs only Go (and network access to the Go module proxy);
# the default BoringCrypto build also needs a C toolchain (gcc), and falls back to Go's crypto without one.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# CRYPTO picks what the binaries sign with (README.md, "Building with BoringCrypto"):
#   boringcrypto  CGO_ENABLED=1 GOEXPERIMENT=boringcrypto: BoringSSL's module inside the Go toolchain;
#                 the default on linux/amd64 and linux/arm64 when cgo works (`go env CGO_ENABLED` is 1)
#   go            CGO_ENABLED=0: Go's own crypto, a static binary; the default everywhere else
GO_PLATFORM := $(shell $(GO) env GOOS GOARCH CGO_ENABLED 2>/dev/null)
empty :=
space := $(empty) $(empty)
CRYPTO_AUTO := $(if $(filter linux_amd64_1 linux_arm64_1,$(subst $(space),_,$(strip $(GO_PLATFORM)))),boringcrypto,go)
CRYPTO    ?= $(CRYPTO_AUTO)
ifeq ($(CRYPTO),boringcrypto)
ifneq ($(CRYPTO_AUTO),boringcrypto)
$(error CRYPTO=boringcrypto needs linux/amd64 or linux/arm64 with cgo (go env: $(GO_PLATFORM)); use CRYPTO=go)
endif
CRYPTO_ENV := CGO_ENABLED=1 GOEXPERIMENT=boringcrypto
else ifeq ($(CRYPTO),go)
CRYPTO_ENV := CGO_ENABLED=0
else
$(error CRYPTO must be boringcrypto or go, not "$(CRYPTO)")
endif
# The same command builds the binary here and in the Dockerfile's build stage.
BUILD      = $(CRYPTO_ENV) $(GO) build -trimpath -ldflags "$(LDFLAGS)"
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build build-worker build-sandbox test test-crypto demo bench chaos fuzz lint check-compose up down clean

all: build

## build: the worker and the standalone WeChat Pay sandbox into bin/, signing with $(CRYPTO) (CRYPTO=go: Go's crypto)
build: build-worker build-sandbox
WORKER_BIN ?= bin/worker
build-worker:
	$(BUILD) -o $(WORKER_BIN) ./cmd/worker
	@echo "$(WORKER_BIN): crypto=$(CRYPTO)"
build-sandbox:
	$(BUILD) -o bin/sandbox ./cmd/sandbox

## test: every test with the race detector (CI runs this)
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

## test-crypto: both builds compile, and the packages that sign, verify, measure or report the crypto pass
## their tests under BoringCrypto (`make test` runs everything under Go's crypto; CI runs both, see .ci/run)
CRYPTO_PKGS := ./internal/buildcrypto/... ./internal/uploader/... ./internal/sandbox/... ./internal/metrics/... ./cmd/bench/... ./cmd/worker/...
test-crypto:
	CGO_ENABLED=0 $(GO) build ./...
ifeq ($(CRYPTO_AUTO),boringcrypto)
	CGO_ENABLED=1 GOEXPERIMENT=boringcrypto $(GO) vet $(CRYPTO_PKGS)
	CGO_ENABLED=1 GOEXPERIMENT=boringcrypto $(GO) test -race -count=1 -timeout 10m $(CRYPTO_PKGS)
else
	@echo "test-crypto: BoringCrypto cannot be built here (go env: $(GO_PLATFORM)); only the CGO_ENABLED=0 build was checked"
endif

## demo: in-process Kafka-protocol broker + WeChat Pay sandbox + sample orders + the worker, with a summary
demo: build
	$(GO) run ./cmd/demo --worker bin/worker $(ARGS)

## bench: throughput, latency, CPU and memory figures against in-process Kafka and the sandbox, for the
## release build (bin/worker) and, back to back in the no-latency case, the CRYPTO=go build (bin/worker-go);
## the bench itself runs with BoringCrypto where it can, so that it measures this machine's fastest signature
BENCH_ENV := $(if $(filter boringcrypto,$(CRYPTO_AUTO)),CGO_ENABLED=1 GOEXPERIMENT=boringcrypto,)
bench: build
	$(MAKE) --no-print-directory build-worker CRYPTO=go WORKER_BIN=bin/worker-go
	$(BENCH_ENV) $(GO) run ./cmd/bench --worker bin/worker --baseline bin/worker-go $(ARGS)

## chaos: crash, restart, rebalance, outage and hostile-input scenarios with invariant checks
chaos: build
	$(GO) test -race -count=1 -timeout 60m -tags chaos ./internal/chaos/...
	$(GO) test -run '^$$' -fuzz FuzzMap -fuzztime 60s ./internal/mapper/

## fuzz: the mapper's fuzz target for FUZZTIME (default 60s)
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzMap -fuzztime $(FUZZTIME) ./internal/mapper/

## lint: go vet and staticcheck
lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## check-compose: parse docker-compose.yml without an engine (apt-get install docker-compose)
check-compose:
	docker-compose -f docker-compose.yml config -q

## up/down: Apache Kafka (KRaft), topics, the sandbox and the worker in Docker
up:
	docker compose up --build -d
down:
	docker compose down -v

clean:
	rm -rf bin .demo

## release: dist/ binaries of the worker for linux/amd64 and linux/arm64 with SHA256SUMS; version from git describe
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64
.PHONY: release
release:
	rm -rf dist && mkdir -p dist
	set -e; for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		GOOS=$$os GOARCH=$$arch $(BUILD) -o dist/ordersync-worker-$(VERSION)-$$os-$$arch ./cmd/worker; \
	done
	cd dist && sha256sum ordersync-worker-* > SHA256SUMS
	@cat dist/SHA256SUMS

## check-deploy: the alert rules (promtool check + unit tests) and the Kubernetes manifests (rendered and
## validated strictly in process, a separate Go module); OVERLAYS=overlays/mine,… checks your own overlays
## too (paths under deploy/kubernetes); .ci/install-deploy-tools installs promtool
.PHONY: check-deploy
check-deploy:
	promtool check rules deploy/prometheus/alerts.yaml
	cd deploy/prometheus && promtool test rules alerts_test.yaml
	cd deploy/kubernetes/check && OVERLAYS="$(OVERLAYS)" $(GO) test -count=1 ./...
