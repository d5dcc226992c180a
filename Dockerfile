# syntax=docker/dockerfile:1
# tidegate: one static binary on distroless/static (no shell, no libc),
# running as the image's non-root user. Build:
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) -t tidegate .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
# GOFIPS140=v1.0.0 builds against Go's FIPS 140-3 module (docs/operations.md).
ARG GOFIPS140=off
RUN CGO_ENABLED=0 GOFIPS140=${GOFIPS140} go build -tags grpcnotrace -trimpath -buildvcs=false -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/tidegate ./cmd/tidegate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tidegate /usr/local/bin/tidegate
# Zero-config listens on loopback only; in a container listen on every
# interface and let the config (or TIDEGATE_AUTH) decide who may call.
ENV TIDEGATE_LISTEN=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/usr/local/bin/tidegate", "health"]
ENTRYPOINT ["/usr/local/bin/tidegate"]
CMD ["serve"]
