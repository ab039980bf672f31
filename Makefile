# ordersync — make targets. Everything needs only Go (and network access to the Go module proxy).
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# The same command builds the binary here and in the Dockerfile's build stage.
BUILD      = CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build test demo bench chaos fuzz lint check-compose up down clean

all: build

## build: the worker and the standalone WeChat Pay sandbox into bin/
build:
	$(BUILD) -o bin/worker ./cmd/worker
	$(BUILD) -o bin/sandbox ./cmd/sandbox

## test: every test with the race detector (CI runs this)
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

## demo: in-process Kafka-protocol broker + WeChat Pay sandbox + sample orders + the worker, with a summary
demo: build
	$(GO) run ./cmd/demo --worker bin/worker $(ARGS)

## bench: throughput, latency, CPU and memory figures against in-process Kafka and the sandbox
bench: build
	$(GO) run ./cmd/bench --worker bin/worker

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
