#!/bin/sh
# startup.sh measures how long secretexec takes from start to the exec of its
# command, side by side with the floors it is held to, in one hyperfine run:
#
#   /bin/true                            the cost of starting any process
#   floor-exec /bin/true                 a Go program that only execs
#   floor-linked /bin/true               ... that also links net/http and crypto/tls
#   secretexec --from file:… -- /bin/true (10-key manifest)
#   floor-fetch URL /bin/true            ... that GETs, decodes and execs
#   secretexec --url URL -- /bin/true    100 and 10,000 secrets over loopback
#
# It then prints the medians, the ratio of each secretexec case to its floor,
# the stripped binary's size, the peak RSS, and runs the herd benchmark.
# Timing here is information, never a pass or fail: the script exits 0
# whatever the numbers are.
#
# Usage: bench/startup.sh [-runs N] [-warmup N] [-rounds N] [-no-herd]
# Needs go, hyperfine and jq; installs the last two from Debian if missing.
set -eu

runs=300
warmup=30
rounds=1
herd=1
while [ $# -gt 0 ]; do
	case $1 in
	-runs) runs=$2; shift ;;
	-warmup) warmup=$2; shift ;;
	-rounds) rounds=$2; shift ;;
	-no-herd) herd=0 ;;
	*) echo "usage: bench/startup.sh [-runs N] [-warmup N] [-rounds N] [-no-herd]" >&2; exit 2 ;;
	esac
	shift
done

cd "$(dirname "$0")/.."

need() {
	command -v "$1" >/dev/null 2>&1 && return
	echo "startup.sh: installing $1" >&2
	apt-get update -qq && apt-get install -y -qq "$1" >/dev/null
}
need hyperfine
need jq

work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Release-like builds: static, stripped, no paths.
export CGO_ENABLED=0
build() { go build -trimpath -ldflags='-s -w' -o "$work/$1" "$2"; }
build secretexec .
for p in floor-exec floor-linked floor-fetch server herd; do
	build "$p" "./bench/$p"
done

# The file case: ten required keys, all set.
i=0
printf '{' >"$work/secrets.json"
: >"$work/secrets.manifest"
while [ $i -lt 10 ]; do
	[ $i -gt 0 ] && printf ',' >>"$work/secrets.json"
	printf '"APP_SECRET_%d":"value-%d-0123456789abcdef0123456789abcdef"' $i $i >>"$work/secrets.json"
	printf 'APP_SECRET_%d: secret number %d\n' $i $i >>"$work/secrets.manifest"
	i=$((i + 1))
done
printf '}\n' >>"$work/secrets.json"

"$work/server" >"$work/server.url" &
server_pid=$!
while [ ! -s "$work/server.url" ]; do sleep 0.05; done
base=$(cat "$work/server.url")
export FUSEBASE_API_KEY=bench-key

se="$work/secretexec"
file_case="$se --from file:$work/secrets.json --manifest $work/secrets.manifest -- /bin/true"

# The HTTP cases need the HTTP source; leave them out of a build without it.
http=1
if ! $se --url "$base/100/secrets" -- /bin/true 2>"$work/probe.err"; then
	http=0
	echo "startup.sh: no HTTP cases: secretexec --url failed: $(head -n 1 "$work/probe.err")" >&2
fi

echo "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "go:       $(go version | cut -d' ' -f3)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
echo

set -- \
	-n true /bin/true \
	-n floor-exec "$work/floor-exec /bin/true" \
	-n floor-linked "$work/floor-linked /bin/true" \
	-n file-10 "$file_case"
if [ $http = 1 ]; then
	set -- "$@" \
		-n floor-fetch-100 "$work/floor-fetch $base/100/secrets /bin/true" \
		-n url-100 "$se --url $base/100/secrets -- /bin/true" \
		-n floor-fetch-10000 "$work/floor-fetch $base/10000/secrets /bin/true" \
		-n url-10000 "$se --url $base/10000/secrets -- /bin/true"
fi

round=1
while [ $round -le "$rounds" ]; do
	hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
		--export-json "$work/round$round.json" "$@" >"$work/round$round.log" 2>&1 ||
		{ cat "$work/round$round.log"; exit 1; }
	[ "$rounds" -gt 1 ] && echo "round $round of $rounds"
	jq -r '
		def ms: . * 1000 * 1000 | round / 1000;
		(.results | map({key: .command, value: .median}) | from_entries) as $m |
		def ratio($a; $b): if $m[$a] and $m[$b] then "\($m[$a] / $m[$b] * 1000 | round / 1000)x \($b)" else "" end;
		.results[] |
		[.command, (.median | ms), ((.stddev // 0) | ms),
		 (if .command == "file-10" then ratio("file-10"; "floor-linked")
		  elif .command == "url-100" then ratio("url-100"; "floor-fetch-100")
		  elif .command == "url-10000" then ratio("url-10000"; "floor-fetch-10000")
		  elif .command == "floor-linked" then ratio("floor-linked"; "floor-exec")
		  else "" end)] | @tsv' "$work/round$round.json" |
		awk -F'\t' 'BEGIN { printf "%-18s %10s %9s  %s\n", "case", "median ms", "stddev", "ratio" }
			{ printf "%-18s %10.3f %9.3f  %s\n", $1, $2, $3, $4 }'
	echo
	round=$((round + 1))
done

echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run"
echo

size() { stat -c %s "$1" | awk '{ printf "%.2f MiB (%d bytes)", $1 / 1048576, $1 }'; }
echo "stripped size: secretexec $(size "$se"); floor-linked $(size "$work/floor-linked"); floor-fetch $(size "$work/floor-fetch")"

# Peak RSS: Linux keeps the high-water mark across execve, so this is the
# larger of secretexec's and /bin/true's; the most of five runs.
rss() {
	max=0
	for _ in 1 2 3 4 5; do
		kb=$(/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ { print $2 }')
		[ "$kb" -gt "$max" ] && max=$kb
	done
	awk -v kb="$max" 'BEGIN { printf "%.1f MiB", kb / 1024 }'
}
printf 'peak RSS:      /bin/true %s; floor-linked %s; file-10 %s' \
	"$(rss /bin/true)" "$(rss "$work/floor-linked" /bin/true)" \
	"$(rss "$se" --from "file:$work/secrets.json" --manifest "$work/secrets.manifest" -- /bin/true)"
if [ $http = 1 ]; then
	printf '; floor-fetch-100 %s; url-100 %s; url-10000 %s' \
		"$(rss "$work/floor-fetch" "$base/100/secrets" /bin/true)" \
		"$(rss "$se" --url "$base/100/secrets" -- /bin/true)" \
		"$(rss "$se" --url "$base/10000/secrets" -- /bin/true)"
fi
echo
echo

if [ $herd = 1 ] && [ $http = 1 ]; then
	echo "herd: 200 processes at once, the server admitting 50 requests/s"
	"$work/herd" -bin "$se" -n 200 -rate 50 -secrets 100
fi
