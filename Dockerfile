# syntax=docker/dockerfile:1

# The secretexec image: one static binary and the CA certificates it needs
# for TLS, on an empty base. Use it as a stage to copy the binary from:
#
#	COPY --from=secretexec /secretexec /usr/local/bin/secretexec
#
# Build: docker build --build-arg VERSION=v1.2.3 -t secretexec .

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY . .
ARG VERSION=dev
# cgo off: no libc to load at run time, so the binary runs on scratch. No
# separate "go mod download": go build fetches only the modules the binary
# is built from, not the test dependencies; the cache mounts keep them and
# the compiled packages between builds.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION}" -o /out/secretexec . \
	&& /out/secretexec version

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="secretexec" \
	org.opencontainers.image.description="Fetch an app's secrets, check them, and exec the app with them" \
	org.opencontainers.image.version="${VERSION}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/secretexec /secretexec
# No /etc/passwd on scratch, so the user is a number: 65532, "nonroot" in
# distroless images.
USER 65532:65532
ENTRYPOINT ["/secretexec"]
CMD ["--help"]
