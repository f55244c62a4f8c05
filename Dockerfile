# The services' images, one recipe for all of them, built from the repository
# root so that the build sees pkg/. Name the service twice, as the build
# argument the build stage compiles and as the target stage that ships it:
#
#   docker buildx build --target reader --build-arg SERVICE=reader \
#     --build-arg VERSION=v1.2.3 --build-arg COMMIT=0123abc -t reader .
#
# (make images does this for every directory under services/.)
#
# confluent-kafka-go links the librdkafka it bundles through cgo against
# glibc, so the binary is built on Debian 12 and runs on distroless's Debian 12
# base, which carries the same glibc. CGO_ENABLED=0 would not build it.
# scripts/images-local.sh builds it with BuildKit on machines without Docker
# and checks the images (make test-images).

FROM golang:1.26-bookworm AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "Dockerfile: --build-arg SERVICE=<a directory of services/> is required" >&2; exit 1; }
# Each service builds alone against pkg through its replace directive, as it
# does with GOWORK=off anywhere; go.work is not in the context.
ENV CGO_ENABLED=1 GOWORK=off
WORKDIR /src
# Modules first, in a layer of their own that code changes leave alone. The
# replace directive reads pkg's go.mod, so it comes too.
COPY pkg/go.* pkg/
COPY services/${SERVICE}/go.* services/${SERVICE}/
WORKDIR /src/services/${SERVICE}
# Unset, Go's default proxy; scripts/images-local.sh points it at this
# machine's module cache, so that its build needs no network.
ARG GOPROXY
RUN go mod download
COPY pkg/ /src/pkg/
COPY services/${SERVICE}/ /src/services/${SERVICE}/
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath \
      -ldflags "-s -w -X github.com/kafka-scale/kafka-scale/pkg/version.Version=${VERSION} -X github.com/kafka-scale/kafka-scale/pkg/version.Commit=${COMMIT}" \
      -o /out/${SERVICE} ./cmd/${SERVICE}

# What every service image shares: glibc, CA certificates and tzdata, no
# shell, user 65532, and the admin port (/metrics, /healthz, /readyz).
FROM gcr.io/distroless/base-debian12:nonroot AS runtime
USER 65532:65532
EXPOSE 9090

# One stage per service: the binary and its entry point. ENTRYPOINT cannot
# take a build argument, hence a stage each.
FROM runtime AS reader
COPY --from=build /out/reader /usr/local/bin/reader
ENTRYPOINT ["/usr/local/bin/reader"]

FROM runtime AS computer
COPY --from=build /out/computer /usr/local/bin/computer
ENTRYPOINT ["/usr/local/bin/computer"]

FROM runtime AS aggregator
COPY --from=build /out/aggregator /usr/local/bin/aggregator
# The HTTP API, besides the admin port.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/aggregator"]
