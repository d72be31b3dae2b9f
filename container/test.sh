#!/usr/bin/env bash
# Build the Dockerfile with podman and run the image as users do:
#
#   1. `version`, with the version stamped in, and --watch under 5s refused;
#   2. a file: run as user 65532, the command a static busybox mounted in;
#   3. --init as PID 1, then `podman stop`: SIGTERM ends it, 143, in under
#      a second (unloaded, about 0.4 s; podman waits 10 s before SIGKILL);
#   4. the README's Node.js recipe, built on node:22-slim: the backend gets
#      its secret over HTTPS from a fake Fusebase API on 127.0.0.1 with a
#      CA of its own (SSL_CERT_FILE), with SECRETEXEC_APP picking one app
#      of a fusebase.json that lists two; and `podman stop` ends it.
#
# No secret value may appear in any output. Run as root with podman,
# debootstrap, busybox-static, openssl, Go and Node.js installed; where no
# registry is reachable, container/standin.sh builds the base images first
# (it keeps them, so a second run takes seconds). Exits non-zero on the
# first failure.
#
#	container/test.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
version=v0.0.0-image
image=localhost/secretexec:latest
recipe=localhost/secretexec-recipe:latest
canary=canary-

start=$(date +%s)
log() { echo "container/test.sh: [$(($(date +%s) - start))s] $*" >&2; }
fail() {
	echo "container/test.sh: FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root"
for cmd in podman busybox openssl node; do
	command -v "$cmd" >/dev/null || fail "$cmd is not installed"
done
busybox=$(command -v busybox)
[[ $(ldd "$busybox" 2>&1 || true) == *"not a dynamic"* ]] ||
	fail "$busybox is not static: install busybox-static"

work=$(mktemp -d)
api_pid=
containers=(secretexec-test-init secretexec-test-recipe secretexec-test-ca)
cleanup() {
	if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null || true; fi
	podman rm --ignore -f -t 0 "${containers[@]}" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
podman rm --ignore -f -t 0 "${containers[@]}" >/dev/null 2>&1 || true

# nocanary fails when a file of output holds a secret value.
nocanary() {
	if grep -qi -- "$canary" "$1"; then
		cat "$1" >&2
		fail "$2 printed a secret value"
	fi
}

# expect runs a command, saving its stdout and stderr in $work/out and
# $work/err, and fails unless it exits with the code given.
expect() {
	local want=$1 got=0
	shift
	"$@" >"$work/out" 2>"$work/err" || got=$?
	nocanary "$work/out" "$*"
	nocanary "$work/err" "$*"
	if [ "$got" != "$want" ]; then
		cat "$work/out" "$work/err" >&2
		fail "$* exited $got; want $want"
	fi
}

# has fails unless file $1 matches the extended regular expression $2.
has() {
	grep -qE -- "$2" "$1" || {
		cat "$1" >&2
		fail "$3: no line matching $2"
	}
}

log "stand-in base images"
"$here/standin.sh"

log "podman build $image (the Dockerfile)"
podman build --network host --build-arg "VERSION=$version" -t "$image" "$root" >"$work/build.log" 2>&1 ||
	{ tail -30 "$work/build.log" >&2; fail "podman build of the Dockerfile"; }

log "1. version"
expect 0 podman run --rm --network none "$image" version
has "$work/out" "^secretexec $version \(go1\.[0-9.]+ linux/" "version"
[ "$(podman image inspect --format '{{.Config.User}}' "$image")" = 65532:65532 ] || fail "the image's user is not 65532:65532"
# The release build keeps the least --watch interval, 5s: the tests' build
# lowers it, this one must not.
expect 64 podman run --rm --network none "$image" --watch 4s --from file:/none -- /none
has "$work/err" '^secretexec: error: --watch 4s: polls must be at least 5s apart$' "--watch 4s"

log "2. a file: run as user 65532"
mkdir -p "$work/data" "$work/out2"
chmod 0777 "$work/out2"
echo '{"API_TOKEN": "canary-file-token"}' >"$work/data/secrets.json"
chmod 0644 "$work/data/secrets.json"
expect 0 podman run --rm --network none \
	-v "$work/data:/data:ro" -v "$work/out2:/out" -v "$busybox:/busybox:ro" \
	-e FUSEBASE_API_KEY=canary-api-key \
	"$image" --from file:/data/secrets.json -- /busybox sh -c '/busybox id -u >/out/uid; /busybox env >/out/env'
has "$work/err" '^secretexec: 1 secret from file:/data/secrets.json in .*; running /busybox sh' "the file: run"
[ "$(cat "$work/out2/uid")" = 65532 ] || fail "the command ran as uid $(cat "$work/out2/uid"); want 65532"
grep -qx 'API_TOKEN=canary-file-token' "$work/out2/env" || fail "the command did not get API_TOKEN"
! grep -q '^FUSEBASE_API_KEY=' "$work/out2/env" || fail "the command got FUSEBASE_API_KEY"

# stop_within stops container $1 (SIGTERM, SIGKILL 10 seconds later) and
# fails unless it exits $3, not 137 from the SIGKILL, within $2
# milliseconds of the stop, a bound well short of the SIGKILL. The time is
# the container's own, up to its exit; podman's clean-up afterwards is
# reported beside it.
stop_within() {
	local t0 t1 end ms total code
	t0=$(date +%s%N)
	podman stop -t 10 "$1" >/dev/null
	t1=$(date +%s%N)
	read -r end code < <(podman inspect --format '{{.State.FinishedAt.UnixNano}} {{.State.ExitCode}}' "$1")
	ms=$(((end - t0) / 1000000))
	total=$(((t1 - t0) / 1000000))
	podman logs "$1" >"$work/logs" 2>&1
	nocanary "$work/logs" "container $1"
	log "   exited ${ms}ms after podman stop (which took ${total}ms), exit code $code"
	[ "$code" = "$3" ] || fail "$1 exited $code; want $3"
	[ "$ms" -lt "$2" ] || fail "$1 exited ${ms}ms after podman stop; want under $2ms"
}

# wait_log waits, up to 30 seconds, until container $1's log matches $2.
wait_log() {
	for _ in $(seq 300); do
		podman logs "$1" 2>&1 | grep -qE -- "$2" && return 0
		[ "$(podman inspect --format '{{.State.Running}}' "$1")" = true ] || break
		sleep 0.1
	done
	podman logs "$1" >&2
	fail "container $1 never logged $2"
}

log "3. --init as PID 1, podman stop"
podman run -d --name secretexec-test-init --network none \
	-v "$work/data:/data:ro" -v "$busybox:/busybox:ro" \
	"$image" --init --from file:/data/secrets.json -- /busybox sleep 1000 >/dev/null
wait_log secretexec-test-init 'running /busybox sleep'
# sleep has no handler for SIGTERM: secretexec passes it on and exits
# 128+15 as the child did.
stop_within secretexec-test-init 1000 143

log "4. the README's Node.js recipe"
ctx=$work/recipe
mkdir -p "$ctx"
cp -R "$here/app/." "$ctx/"
awk '/^### Adding secretexec to a Node.js image/ { found = 1 }
	found && /^```dockerfile$/ { inblock = 1; next }
	inblock && /^```$/ { exit }
	inblock { print }' "$root/README.md" >"$ctx/Dockerfile"
grep -q '^FROM node:22-slim' "$ctx/Dockerfile" || fail "no Node.js recipe found in README.md"
podman build --network host -t "$recipe" "$ctx" >"$work/build.log" 2>&1 ||
	{ tail -30 "$work/build.log" >&2; fail "podman build of the README's recipe"; }

# The slim image has no CA bundle of its own; the recipe copies the one in
# the secretexec image.
expect 1 podman run --rm --network none --entrypoint /bin/sh docker.io/library/node:22-slim -c 'test -e /etc/ssl/certs/ca-certificates.crt'
podman create --name secretexec-test-ca "$image" >/dev/null
podman cp secretexec-test-ca:/etc/ssl/certs/ca-certificates.crt "$work/image-ca.crt"
podman rm secretexec-test-ca >/dev/null
expect 0 podman run --rm --network none --entrypoint /bin/cat "$recipe" /etc/ssl/certs/ca-certificates.crt
cmp -s "$work/out" "$work/image-ca.crt" || fail "the recipe's /etc/ssl/certs/ca-certificates.crt is not the secretexec image's"

# A fake Fusebase API with a CA of its own, on the loopback interface, so
# the containers share the host's network.
(
	cd "$work"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=fakeapi-ca \
		-keyout ca.key -out ca.pem 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-keyout api.key -out api.csr 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >api.ext
	openssl x509 -req -in api.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
		-extfile api.ext -out api.pem 2>/dev/null
)
mkdir -p "$work/ca"
cp "$work/ca.pem" "$work/ca/ca.pem"
chmod 0755 "$work/ca"
chmod 0644 "$work/ca/ca.pem"
echo '{"backend": {"API_TOKEN": "canary-https-token"}, "web": {"VITE_X": "canary-web"}}' >"$work/secrets.json"
FAKEAPI_KEY=canary-api-key node "$here/fakeapi.js" "$work/api.pem" "$work/api.key" \
	"$work/secrets.json" "$work/port" "$work/requests" &
api_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the fake API did not start"
api=https://127.0.0.1:$(cat "$work/port")

trusting=(--network host -v "$work/ca:/ca:ro"
	-e FUSEBASE_API_KEY=canary-api-key -e "FUSEBASE_API_URL=$api" -e SSL_CERT_FILE=/ca/ca.pem)

# fusebase.json lists two apps, and /app is in neither: without
# SECRETEXEC_APP secretexec cannot tell which, and says so.
expect 78 podman run --rm "${trusting[@]}" "$recipe"
has "$work/err" 'backend' "the ambiguous app error"
has "$work/err" 'web' "the ambiguous app error"

expect 0 podman run --rm "${trusting[@]}" -e SECRETEXEC_APP=backend "$recipe"
has "$work/err" "^secretexec: 1 secret from fusebase app backend" "the recipe's run"
has "$work/out" '^backend: started with API_TOKEN as uid 1000$' "the recipe's backend"
grep -qx 'GET /v1/orgs/org-1/apps/parent-1/features/backend/secrets auth=ok' "$work/requests" ||
	{ cat "$work/requests" >&2; fail "the fake API got no authorised request for app backend"; }

# Without the fake API's CA, TLS verification fails against the bundle the
# recipe copied, and secretexec starts nothing (69).
expect 69 podman run --rm --network host -e FUSEBASE_API_KEY=canary-api-key -e "FUSEBASE_API_URL=$api" \
	-e SECRETEXEC_APP=backend "$recipe"
has "$work/err" 'certificate' "the untrusted run"

# Under --init (the recipe's ENTRYPOINT), podman stop reaches node.
podman run -d --name secretexec-test-recipe "${trusting[@]}" -e SECRETEXEC_APP=backend "$recipe" node dist/index.js serve >/dev/null
wait_log secretexec-test-recipe '^backend: started'
stop_within secretexec-test-recipe 5000 0
has "$work/logs" '^backend: SIGTERM$' "the stopped recipe"

log "all passed"
