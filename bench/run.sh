#!/usr/bin/env bash
# Load benchmark: tidegate against a minimal JSON-decoding proxy ("floor"),
# both in front of the same fake upstream, in the same run. See README.md.
#
#   bash bench/run.sh                    # everything, about 2.5 minutes
#   DURATION=3s WARMUP=1s bash bench/run.sh
#   SCENARIOS="a e" bash bench/run.sh
#   ROUNDS=3 bash bench/run.sh           # on a busy machine
#
# Everything listens on 127.0.0.1 only. The gateway and the floor are pinned
# to TARGET_CPU; the load generator and the fake upstream to DRIVER_CPU.
set -euo pipefail

DURATION=${DURATION:-10s}                     # measured phase of each run
WARMUP=${WARMUP:-2s}                          # unmeasured warm-up before each run
CONCURRENCY=${CONCURRENCY:-50}                # workers for the concurrent scenarios
STREAM_EVENT_DELAY=${STREAM_EVENT_DELAY:-1ms} # upstream pause before each stream event
SCENARIOS=${SCENARIOS:-a b c d e}             # which scenarios to run
ROUNDS=${ROUNDS:-1}                           # run everything this many times; the report keeps the least disturbed run
DRIVER_CPU=${DRIVER_CPU:-0}                   # core for load generator + upstream
TARGET_CPU=${TARGET_CPU:-1}                   # core for floor + gateway
MAX_RUNTIME=${MAX_RUNTIME:-600s}              # hard stop for the whole run
KEEP=${KEEP:-0}                               # 1: keep the work dir (logs, results.jsonl)

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tidegate-bench.XXXXXX")
results=$work/results.jsonl
pids=()
load_pid=

cleanup() {
	local p
	for p in $load_pid "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in $load_pid "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ $KEEP == 1 ]]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

log() { echo "bench: $*" >&2; }

# ---- build ----
log "building in $work"
(cd "$root" && go build -o "$work/loadbench" ./bench/loadbench)
lb=$work/loadbench
gateway=1
if ! (cd "$root" && go build -o "$work/tidegate" ./cmd/tidegate) 2>"$work/build.log"; then
	log "the gateway does not build; measuring the floor only:"
	sed 's/^/    /' "$work/build.log" >&2
	gateway=0
fi

# ---- start the fake upstream, the floor and the gateway ----
up_port=$("$lb" freeport)
floor_port=$("$lb" freeport)
gw_port=$("$lb" freeport)
up=http://127.0.0.1:$up_port
floor=http://127.0.0.1:$floor_port
gw=http://127.0.0.1:$gw_port

taskset -c "$DRIVER_CPU" "$lb" upstream -listen "127.0.0.1:$up_port" \
	-event-delay "$STREAM_EVENT_DELAY" -lifetime "$MAX_RUNTIME" >"$work/upstream.log" 2>&1 &
up_pid=$!
pids+=("$up_pid")

taskset -c "$TARGET_CPU" "$lb" floor -listen "127.0.0.1:$floor_port" -upstream "$up" \
	-models bench-openai=gpt-mock,bench-anthropic=claude-mock -lifetime "$MAX_RUNTIME" >"$work/floor.log" 2>&1 &
floor_pid=$!
pids+=("$floor_pid")

gw_pid=
if [[ $gateway == 1 ]]; then
	cat >"$work/tidegate.yaml" <<EOF
listen: 127.0.0.1:$gw_port
providers:
  up:  {type: openai, base_url: http://127.0.0.1:$up_port/v1, api_key: bench}
  upa: {type: anthropic, base_url: http://127.0.0.1:$up_port, api_key: bench}
models:
  bench-openai:    {provider: up, model: gpt-mock}
  bench-anthropic: {provider: upa, model: claude-mock}
EOF
	taskset -c "$TARGET_CPU" "$work/tidegate" serve --config "$work/tidegate.yaml" >"$work/gateway.log" 2>&1 &
	gw_pid=$!
	pids+=("$gw_pid")
fi

# The reaper stops the servers if this script dies without its trap, and
# everything once MAX_RUNTIME has passed.
"$lb" reaper -parent $$ -after "$MAX_RUNTIME" -pids "$(IFS=,; echo "${pids[*]}")" &
pids+=("$!")

"$lb" wait -addr "127.0.0.1:$up_port" -timeout 10s
"$lb" wait -addr "127.0.0.1:$floor_port" -timeout 10s
if [[ $gateway == 1 ]] && ! "$lb" wait -addr "127.0.0.1:$gw_port" -timeout 30s; then
	log "the gateway did not start; measuring the floor only. Its log:"
	sed 's/^/    /' "$work/gateway.log" | tail -n 40 >&2
	gateway=0
fi

# ---- scenarios ----
# measure SCENARIO TARGET TITLE [load flags...]: one warm-up + measured run.
measure() {
	local scenario=$1 target=$2 title=$3
	shift 3
	local addr pid drivers=$up_pid core=$TARGET_CPU
	case $target in
	upstream) addr=$up pid=$up_pid drivers= core=-1 ;;
	floor) addr=$floor pid=$floor_pid ;;
	gateway)
		[[ $gateway == 1 ]] || return 0
		addr=$gw pid=$gw_pid
		;;
	esac
	taskset -c "$DRIVER_CPU" "$lb" load -scenario "$scenario" -target "$target" -title "$title" \
		-addr "$addr" -pid "$pid" -driver-pids "$drivers" -target-cpu "$core" -d "$DURATION" -warmup "$WARMUP" \
		-out "$results" "$@" &
	load_pid=$! # waited for in the background so that a signal stops the run at once
	wait "$load_pid" || log "load $scenario/$target failed"
	load_pid=
}

want() { [[ " $SCENARIOS " == *" $1 "* ]]; }

c=$CONCURRENCY
for ((round = 1; round <= ROUNDS; round++)); do
[[ $ROUNDS == 1 ]] || log "round $round of $ROUNDS"
if want a; then
	measure a floor "OpenAI→OpenAI, c=$c" -c "$c"
	measure a gateway "OpenAI→OpenAI, c=$c" -c "$c"
fi
if want b; then
	measure b upstream "OpenAI→OpenAI, serial" -c 1 -model gpt-mock
	measure b floor "OpenAI→OpenAI, serial" -c 1
	measure b gateway "OpenAI→OpenAI, serial" -c 1
fi
if want c; then
	# The floor cannot translate: compare with its OpenAI→OpenAI row (a).
	measure c gateway "OpenAI→Anthropic, c=$c" -c "$c" -model bench-anthropic -baseline a
fi
if want d; then
	# Floor baseline: Anthropic→Anthropic passthrough, the same caller body.
	measure d floor "Anthropic→Anthropic, c=$c" -c "$c" -api anthropic -model bench-anthropic
	measure d gateway "Anthropic→OpenAI, c=$c" -c "$c" -api anthropic -model bench-openai
fi
if want e; then
	measure e upstream "OpenAI stream, c=$c" -c "$c" -stream -model gpt-mock
	measure e floor "OpenAI stream, c=$c" -c "$c" -stream
	measure e gateway "OpenAI stream, c=$c" -c "$c" -stream
fi
done

# ---- report ----
echo
echo "## tidegate load benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ) · commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?) ·" \
	"$(go version | cut -d' ' -f3) · $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)) ·" \
	"DURATION=$DURATION WARMUP=$WARMUP CONCURRENCY=$c STREAM_EVENT_DELAY=$STREAM_EVENT_DELAY ROUNDS=$ROUNDS"
echo
if [[ -s $results ]]; then
	"$lb" report "$results"
else
	log "no results"
	exit 1
fi
if [[ $gateway == 1 ]] && ! kill -0 "$gw_pid" 2>/dev/null; then
	log "the gateway exited during the run; its log:"
	tail -n 40 "$work/gateway.log" >&2
fi
