#!/usr/bin/env bash
# Build stand-ins for the two base images container/test.sh needs, for
# machines that reach no container registry: golang:GO (the Dockerfile's
# build stage) and node:22-slim (the README's Node.js recipe). Both are
# Debian bookworm minbase roots made with debootstrap from the machine's
# Debian mirror, tagged with the docker.io names so that FROM finds them
# without a pull:
#
#   golang:GO      ca-certificates, the Go toolchain GO.x from the Go module
#                  proxy (golang.org/toolchain) at /usr/local/go, GOPATH /go,
#                  and this machine's Go proxy settings and CA bundle, so that
#                  go can download modules where HTTPS is intercepted.
#   node:22-slim   no CA certificates (the real slim image has none either),
#                  this machine's Node.js and npm in /usr/local, user node
#                  (uid 1000). The Node.js version is the machine's.
#
# An image that exists is kept. The debootstrap root is cached as a tarball
# in STANDIN_CACHE (default /var/cache/secretexec-standin), so rebuilding an
# image takes seconds. Run as root, with podman and debootstrap installed.
#
#	container/standin.sh
#
# STANDIN_GO (default: this machine's Go, when its minor release is the
# Dockerfile's) picks the toolchain; STANDIN_MIRROR the Debian mirror.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
cache=${STANDIN_CACHE:-/var/cache/secretexec-standin}

log() { echo "standin: $*" >&2; }
die() { echo "standin: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and podman need it)"
for cmd in podman debootstrap go node tar; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed"
done

# The Go release the Dockerfile builds with, and the toolchain for it.
minor=$(sed -n 's/^ARG GO_VERSION=//p' "$root/Dockerfile")
[ -n "$minor" ] || die "no ARG GO_VERSION= in the Dockerfile"
gover=${STANDIN_GO:-$(go env GOVERSION)}
gover=${gover#go}
case $gover in
"$minor" | "$minor".*) ;;
*) die "the Dockerfile builds with Go $minor, this machine has $gover: set STANDIN_GO=$minor.N" ;;
esac
golang=docker.io/library/golang:$minor
node=docker.io/library/node:22-slim

if podman image exists "$golang" && podman image exists "$node"; then
	log "$golang and $node exist"
	exit 0
fi

# The Debian mirror apt uses here, for debootstrap.
mirror=${STANDIN_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
	grep -E '^(deb |URIs:)' | grep -oE 'https?://[^ ]+/debian/?' | head -1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
base=$cache/bookworm-minbase.tar
if [ ! -s "$base" ]; then
	log "debootstrap bookworm from $mirror (about a minute)"
	debootstrap --variant=minbase --include=ca-certificates bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
	rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
	tar -C "$work/root" -cf "$base.tmp" .
	mv "$base.tmp" "$base"
	rm -rf "$work/root"
fi

# unpack extracts the cached root into a new folder and prints its path.
unpack() {
	local dir=$work/$1
	mkdir -p "$dir"
	tar -C "$dir" -xf "$base"
	echo "$dir"
}

if ! podman image exists "$golang"; then
	arch=$(go env GOARCH)
	mod=golang.org/toolchain@v0.0.1-go$gover.linux-$arch
	log "$golang: Go $gover from the module proxy ($mod)"
	dir=$(cd "$work" && GOFLAGS= go mod download -json "$mod" | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).Dir')
	[ -f "$dir/bin/go" ] || die "no bin/go in $dir"
	rootfs=$(unpack golang)
	cp -R "$dir" "$rootfs/usr/local/go"
	chmod -R u+w "$rootfs/usr/local/go"
	# Module zips keep no file modes; go does this when it switches
	# toolchains itself.
	find "$rootfs/usr/local/go/bin" "$rootfs/usr/local/go/pkg/tool" -type f -exec chmod 0755 {} +
	chroot "$rootfs" /usr/bin/env GOROOT=/usr/local/go GOTELEMETRY=off /usr/local/go/bin/go version >/dev/null 2>&1 || die "go does not run in the stand-in"
	mkdir -p "$rootfs/go/bin" "$rootfs/go/src" "$rootfs/usr/local/share/standin"
	# The machine's CA bundle, for the Go proxy behind an intercepting
	# proxy; the image's own bundle, which the Dockerfile copies, is
	# Debian's.
	cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$rootfs/usr/local/share/standin/host-ca.crt"
	changes=(
		--change "ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		--change "ENV GOPATH=/go"
		--change "ENV GOTOOLCHAIN=local"
		--change "ENV GOLANG_VERSION=$gover"
		--change "ENV SSL_CERT_FILE=/usr/local/share/standin/host-ca.crt"
		--change "WORKDIR /go"
	)
	for v in GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GOFLAGS; do
		val=$(go env "$v")
		[ -n "$val" ] && changes+=(--change "ENV $v=$val")
	done
	tar -C "$rootfs" -c . | podman import --quiet "${changes[@]}" - "$golang" >/dev/null
	rm -rf "$rootfs"
fi

if ! podman image exists "$node"; then
	nodebin=$(readlink -f "$(command -v node)")
	npmdir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
	version=$(node --version)
	log "$node: Node.js $version from this machine, no CA certificates"
	rootfs=$(unpack node)
	chroot "$rootfs" dpkg --purge ca-certificates >/dev/null 2>&1 || die "purging ca-certificates"
	rm -rf "$rootfs/etc/ssl/certs/ca-certificates.crt" "$rootfs/usr/share/ca-certificates"
	install -m 0755 "$nodebin" "$rootfs/usr/local/bin/node"
	mkdir -p "$rootfs/usr/local/lib/node_modules"
	cp -R "$npmdir" "$rootfs/usr/local/lib/node_modules/npm"
	ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
	ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
	chroot "$rootfs" groupadd --gid 1000 node
	chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
	chroot "$rootfs" /usr/local/bin/node --version >/dev/null || die "node does not run in the stand-in"
	tar -C "$rootfs" -c . | podman import --quiet \
		--change "ENV NODE_VERSION=${version#v}" \
		--change 'CMD ["node"]' - "$node" >/dev/null
	rm -rf "$rootfs"
fi
log "built $golang and $node"
