# syntax=docker/dockerfile:1
# Build stage: the same `make build` as on a developer machine (static, CGO off).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN make build VERSION=${VERSION}

# Run stage: a small image with wget for health checks, running as a non-root user.
FROM alpine:3.20
RUN adduser -D -H -u 10001 ordersync && mkdir /keys && chown 10001 /keys
COPY --from=build /src/bin/worker /usr/local/bin/worker
COPY --from=build /src/bin/sandbox /usr/local/bin/sandbox
USER 10001
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD wget -q -O /dev/null http://127.0.0.1:9090/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/worker"]
CMD ["run"]
