#!/bin/sh
# startup.sh measures how long secretexec takes from start to the exec of its
# command, side by side with the floors it is held to, in one hyperfine run:
#
#   true               /bin/true: the cost of starting any process
#   floor-exec         a Go program that only execs /bin/true
#   floor-linked       ... that also links net/http and crypto/tls
#   file-10            secretexec --from file:… (10 keys, a 10-key manifest)
#   floor-fetch-N      a Go program that GETs N secrets, decodes them with
#                      encoding/json into a struct and execs /bin/true
#   url-N              secretexec --url http://127.0.0.1:PORT/N/secrets
#
# for N = 100 and 10,000. It prints the medians and the ratio of each
# secretexec case to its floor, an interleaved cross-check of those ratios
# (bench/interleave), the stripped binary's size, the peak RSS, and the herd
# benchmark (bench/herd). Timing here is information, never a pass or fail:
# the script exits 0 whatever the numbers are.
#
# Usage: bench/startup.sh [-runs N] [-warmup N] [-rounds N] [-no-herd]
#
# With -rounds, the hyperfine run is repeated and the summary gives the
# median of each ratio over the rounds. Needs go, hyperfine and jq; installs
# the last two from Debian's packages if they are missing.
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
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Release builds: static, stripped, no paths.
export CGO_ENABLED=0
build() { go build -trimpath -ldflags='-s -w' -o "$work/$1" "$2"; }
build secretexec .
for p in floor-exec floor-linked floor-fetch server herd interleave; do
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

# The HTTP cases need secretexec's HTTP source; leave them out without it.
http=1
if ! $se -q --url "$base/100/secrets" -- /bin/true 2>"$work/probe.err"; then
	http=0
	echo "startup.sh: no HTTP cases: secretexec --url failed: $(head -n 1 "$work/probe.err")" >&2
fi

echo "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "tools:    $(go version | cut -d' ' -f3), $(hyperfine --version)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
echo "method:   hyperfine -N, $warmup warmup runs and $runs runs a command, $rounds round(s)"
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

# Each case is held to its floor, measured in the same run; the targets are
# BENCHMARKS.md's.
pairs='file-10 floor-linked 1.20
url-100 floor-fetch-100 1.20
url-10000 floor-fetch-10000 1.20
floor-linked floor-exec -'

round=1
while [ "$round" -le "$rounds" ]; do
	hyperfine -N --style none --warmup "$warmup" --runs "$runs" \
		--export-json "$work/round$round.json" "$@" >"$work/round$round.log" 2>&1 ||
		{ cat "$work/round$round.log"; exit 1; }
	[ "$rounds" -gt 1 ] && echo "round $round of $rounds"
	jq -r '.results[] | "\(.command) \(.median) \(.stddev // 0)"' "$work/round$round.json" >"$work/medians$round"
	printf '%-18s %10s %9s  %s\n' case "median ms" "stddev" "ratio to floor (target)"
	while read -r name median stddev; do
		ratio=
		while read -r c floor target; do
			[ "$c" = "$name" ] || continue
			f=$(awk -v n="$floor" '$1 == n { print $2 }' "$work/medians$round")
			[ -n "$f" ] || continue
			r=$(awk -v a="$median" -v b="$f" 'BEGIN { printf "%.3f", a / b }')
			echo "$name $r" >>"$work/ratios"
			ratio="${r}x $floor"
			[ "$target" != - ] && ratio="$ratio (<= ${target}x)"
		done <<EOF
$pairs
EOF
		awk -v n="$name" -v m="$median" -v s="$stddev" -v r="$ratio" \
			'BEGIN { printf "%-18s %10.3f %9.3f  %s\n", n, m * 1000, s * 1000, r }'
	done <"$work/medians$round"
	echo
	round=$((round + 1))
done

if [ "$rounds" -gt 1 ]; then
	echo "median ratio over $rounds rounds:"
	for name in file-10 url-100 url-10000 floor-linked; do
		grep "^$name " "$work/ratios" | sort -k2 -n |
			awk -v n="$name" '{ r[NR] = $2 } END { if (NR) printf "  %-16s %.3fx  (rounds: %s to %s)\n", n, (r[int((NR + 1) / 2)] + r[int(NR / 2) + 1]) / 2, r[1], r[NR] }'
	done
	echo
fi
# hyperfine runs each command's runs back to back, so a change of load
# between two blocks shows in their ratio. bench/interleave runs one of each
# in turn, in a random order every round: a cross-check of the ratios.
echo "cross-check, interleaved ($runs rounds; 10,000 secrets: $(( (runs + 2) / 3 )))":
il="$work/interleave -n $runs -w $warmup"
$il floor-linked="$work/floor-linked" /bin/true ';;' file-10=$file_case | sed 's/^/  /'
if [ $http = 1 ]; then
	$il floor-fetch-100="$work/floor-fetch" "$base/100/secrets" /bin/true \
		';;' url-100="$se" --url "$base/100/secrets" -- /bin/true | sed 's/^/  /'
	$work/interleave -n $(( (runs + 2) / 3 )) -w 5 floor-fetch-10000="$work/floor-fetch" "$base/10000/secrets" /bin/true \
		';;' url-10000="$se" --url "$base/10000/secrets" -- /bin/true | sed 's/^/  /'
fi
echo

echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run"
echo

size() { stat -c %s "$1" | awk '{ printf "%.2f MiB", $1 / 1048576 }'; }
echo "stripped size: secretexec $(size "$se") (<= 8 MiB); floor-linked $(size "$work/floor-linked"); floor-fetch $(size "$work/floor-fetch")"

# Peak RSS: Linux keeps the high-water mark across execve, so this is the
# larger of secretexec's and /bin/true's: the most of five runs.
rss() {
	max=0
	for _ in 1 2 3 4 5; do
		kb=$(/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ { print $2 }')
		[ "$kb" -gt "$max" ] && max=$kb
	done
	awk -v kb="$max" 'BEGIN { printf "%.1f MiB", kb / 1024 }'
}
echo "peak RSS:"
echo "  floor-linked $(rss "$work/floor-linked" /bin/true); file-10 $(rss $file_case)"
if [ $http = 1 ]; then
	echo "  floor-fetch-100 $(rss "$work/floor-fetch" "$base/100/secrets" /bin/true); url-100 $(rss "$se" --url "$base/100/secrets" -- /bin/true) (<= 10 MiB)"
	echo "  floor-fetch-10000 $(rss "$work/floor-fetch" "$base/10000/secrets" /bin/true); url-10000 $(rss "$se" --url "$base/10000/secrets" -- /bin/true)"
fi
echo

if [ $herd = 1 ] && [ $http = 1 ]; then
	echo "herd: 200 processes at once, the server admitting 50 requests/s"
	echo "(targets: no failures, max <= 8 s, <= 3 requests a process)"
	"$work/herd" -bin "$se" -n 200 -rate 50 -secrets 100
fi
