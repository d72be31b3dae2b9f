#!/usr/bin/env bash
# Build the npm packages from the source, all at one version: each platform
# package under npm/@secretexec/ gets its static binary, the main package
# pins them all as optionalDependencies, and each is packed into OUT.
#
#	npm/build.sh VERSION [OUT]
#
# VERSION is a semantic version (1.2.3; a leading v is dropped). OUT, by
# default npm/dist, must be empty or absent; it gets the staged packages and
# one tarball each. Publish the platform packages first, the main one last:
#
#	for f in OUT/secretexec-linux-*.tgz OUT/secretexec-darwin-*.tgz; do
#		npm publish --access public "$f"
#	done
#	npm publish OUT/secretexec-VERSION.tgz
#
# SECRETEXEC_NPM_PLATFORMS (a space-separated list such as "linux-x64")
# builds only those platform packages, as the tests do.
#
# The binaries are built as the release binaries are (.goreleaser.yaml):
# static, stripped, -trimpath, the version stamped, no VCS stamp, so that
# the same commit builds the same bytes anywhere.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: npm/build.sh VERSION [OUT]" >&2
	exit 64
fi
version=${1#v}
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]]; then
	echo "npm/build.sh: $1 is not a semantic version (1.2.3, 1.2.3-rc.1)" >&2
	exit 64
fi

root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/npm/dist}
[ -z "${2:-}" ] && rm -rf "$out"
if [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
	echo "npm/build.sh: $out is not empty" >&2
	exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# stamp sets a package.json's version, and pins each optional dependency to
# the same one.
stamp() {
	node -e '
		const fs = require("node:fs");
		const [file, version] = process.argv.slice(1);
		const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
		pkg.version = version;
		for (const dep of Object.keys(pkg.optionalDependencies || {})) {
			pkg.optionalDependencies[dep] = version;
		}
		fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
	' "$1" "$version"
}

# field prints the first entry of a package.json array field.
field() {
	node -p 'require(process.argv[1])[process.argv[2]][0]' "$1" "$2"
}

for dir in "$root"/npm/@secretexec/*/; do
	name=$(basename "$dir")
	if [ -n "${SECRETEXEC_NPM_PLATFORMS:-}" ] && [[ " $SECRETEXEC_NPM_PLATFORMS " != *" $name "* ]]; then
		continue
	fi
	goos=$(field "$dir/package.json" os)
	case $(field "$dir/package.json" cpu) in
	x64) goarch=amd64 ;;
	arm64) goarch=arm64 ;;
	*) echo "npm/build.sh: $name: no Go architecture for its cpu field" >&2; exit 1 ;;
	esac
	stage=$out/@secretexec/$name
	mkdir -p "$stage/bin"
	cp "$dir/package.json" "$dir/README.md" "$stage/"
	stamp "$stage/package.json"
	echo "npm/build.sh: $name: GOOS=$goos GOARCH=$goarch" >&2
	(cd "$root" && CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -buildvcs=false \
		-ldflags "-s -w -X main.version=v$version" -o "$stage/bin/secretexec" .)
done

stage=$out/secretexec
cp -R "$root/npm/secretexec" "$stage"
stamp "$stage/package.json"

for pkg in "$out"/@secretexec/* "$stage"; do
	(cd "$pkg" && npm pack --silent --pack-destination "$out" >/dev/null)
done
ls "$out"/*.tgz
