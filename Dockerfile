# syntax=docker/dockerfile:1
# Images (README.md, "Building with BoringCrypto"):
#   docker build .                   the worker, signing with BoringCrypto (glibc, cgo), non-root
#   docker build --target sandbox .  the WeChat Pay sandbox, for tests and the demo only
# Bases are pinned by digest (multi-platform indexes of the official images, as docker-library/repo-info
# lists them): golang:1.26.8-trixie and debian:trixie-slim (Debian 13). Update both together: the worker
# links against the build stage's glibc and needs the same or a newer one at run time.

# Build stage: the same `make build` as on a developer machine. linux/amd64 and linux/arm64 get
# BoringCrypto; other platforms fall back to CRYPTO=go (override with --build-arg CRYPTO=go).
FROM golang:1.26.8-trixie@sha256:771f3162219f7a66bb6be3fea1ba31f418932946a99ad9eac26ffd555dfcf393 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .

FROM build AS build-worker
ARG VERSION=dev
ARG CRYPTO=
RUN make build-worker VERSION=${VERSION} ${CRYPTO:+CRYPTO=${CRYPTO}}

FROM build AS build-sandbox
ARG VERSION=dev
RUN make build-sandbox VERSION=${VERSION} CRYPTO=go

# The sandbox: a static binary on the same base, with wget for the compose health check.
FROM debian:trixie-slim@sha256:d7e12182ce18b85b93007c1dedf31f2d29e01ccf3182cc4017c709b6259bc132 AS sandbox
RUN apt-get update && apt-get install -y --no-install-recommends wget && rm -rf /var/lib/apt/lists/* && \
    useradd --no-create-home --uid 10001 ordersync && mkdir /keys && chown 10001 /keys
COPY --from=build-sandbox /src/bin/sandbox /usr/local/bin/sandbox
USER 10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sandbox"]

# The worker (the default target): glibc for the cgo binary, CA certificates for the API's TLS, wget
# for the health check; no sandbox. Runs as a non-root user.
FROM debian:trixie-slim@sha256:d7e12182ce18b85b93007c1dedf31f2d29e01ccf3182cc4017c709b6259bc132 AS worker
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates wget && rm -rf /var/lib/apt/lists/* && \
    useradd --no-create-home --uid 10001 ordersync && mkdir /keys && chown 10001 /keys
COPY --from=build-worker /src/bin/worker /usr/local/bin/worker
USER 10001
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD wget -q -O /dev/null http://127.0.0.1:9090/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/worker"]
CMD ["run"]
