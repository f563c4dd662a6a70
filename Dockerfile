# syntax=docker/dockerfile:1
# The workload images for users who build with Docker/Podman; `make images` builds the same
# static binaries daemonlessly and reproducibly (build/imagebuild). One stage per workload;
# build from the repository root:
#   docker build --target tempsensor -t edgeframe/tempsensor:dev .
# (targets: opcplc, opcpublisher, tempsensor, datagateway).
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
# gopcua with edgeframe's decoding bounds (third_party/gopcua/EDGEFRAME.md), replaced in go.mod
COPY third_party/ third_party/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY pkg/ pkg/
COPY workloads/ workloads/
# one go build for every workload: they share most packages, so this costs little more
# than building one
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X github.com/edgeframe/edgeframe/pkg/version.Version=${VERSION}" \
      -o /out/ ./workloads/opcplc/cmd/opcplc ./workloads/opcpublisher/cmd/opcpublisher \
         ./workloads/tempsensor/cmd/tempsensor ./workloads/datagateway/cmd/datagateway

# distroless static: CA certificates, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.source="https://github.com/edgeframe/edgeframe" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"
USER 65532:65532

FROM runtime AS opcplc
LABEL org.opencontainers.image.title="opcplc"
COPY --from=build /out/opcplc /usr/local/bin/opcplc
ENTRYPOINT ["/usr/local/bin/opcplc"]

FROM runtime AS opcpublisher
LABEL org.opencontainers.image.title="opcpublisher"
COPY --from=build /out/opcpublisher /usr/local/bin/opcpublisher
ENTRYPOINT ["/usr/local/bin/opcpublisher"]

FROM runtime AS tempsensor
LABEL org.opencontainers.image.title="tempsensor"
COPY --from=build /out/tempsensor /usr/local/bin/tempsensor
ENTRYPOINT ["/usr/local/bin/tempsensor"]

FROM runtime AS datagateway
LABEL org.opencontainers.image.title="datagateway"
COPY --from=build /out/datagateway /usr/local/bin/datagateway
ENTRYPOINT ["/usr/local/bin/datagateway"]
