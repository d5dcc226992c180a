#!/usr/bin/env bash
# Load benchmark: tidegate against a minimal JSON-decoding proxy ("floor"),
# both in front of the same fake upstream, in the same run. See README.md.
#
#   bash bench/run.sh                    # everything, about 3 minutes
#   DURATION=3s WARMUP=1s bash bench/run.sh
#   SCENARIOS="a e" bash bench/run.sh
#   SCENARIOS="a f g" bash bench/run.sh  # governance: keyed gateways against the open one
#   SCENARIOS="h i j" bash bench/run.sh  # MCP: tools/call against the API direct, tools/list
#   ROUNDS=3 bash bench/run.sh           # on a busy machine
#
# Everything listens on 127.0.0.1 only. The gateway and the floor are pinned
# to TARGET_CPU; the load generator and the fake upstream to DRIVER_CPU.
# Scenario g uses the Redis at REDIS_ADDR (not started here) under a random
# tgbench:…: key prefix, deleted at the end; it is skipped without Redis.
set -euo pipefail

DURATION=${DURATION:-10s}                     # measured phase of each run
WARMUP=${WARMUP:-2s}                          # unmeasured warm-up before each run
CONCURRENCY=${CONCURRENCY:-50}                # workers for the concurrent scenarios
STREAM_EVENT_DELAY=${STREAM_EVENT_DELAY:-1ms} # upstream pause before each stream event
SCENARIOS=${SCENARIOS:-a b c d e f g h i j}   # which scenarios to run
MCP_OPS=${MCP_OPS:-500}                       # operations (tools) in the MCP scenarios' spec
ROUNDS=${ROUNDS:-1}                           # run everything this many times; the report keeps the least disturbed run
DRIVER_CPU=${DRIVER_CPU:-0}                   # core for load generator + upstream
TARGET_CPU=${TARGET_CPU:-1}                   # core for floor + gateways
MAX_RUNTIME=${MAX_RUNTIME:-600s}              # hard stop for the whole run
KEEP=${KEEP:-0}                               # 1: keep the work dir (logs, results.jsonl)
REDIS_ADDR=${REDIS_ADDR:-127.0.0.1:6379}      # Redis for scenario g (127.0.0.1 only, database 0)

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tidegate-bench.XXXXXX")
results=$work/results.jsonl
pids=()
load_pid=
redis_prefix= # set once the Redis-backed gateway may have written keys

cleanup() {
	local p n
	for p in $load_pid "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in $load_pid "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n $redis_prefix ]]; then
		if n=$("$work/loadbench" redis -addr "$REDIS_ADDR" -prefix "$redis_prefix" clean); then
			log "deleted $n Redis keys under $redis_prefix"
		else
			log "could not delete the Redis keys under $redis_prefix (they expire within 16 minutes)"
		fi
	fi
	if [[ $KEEP == 1 ]]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

log() { echo "bench: $*" >&2; }
want() { [[ " $SCENARIOS " == *" $1 "* ]]; }
randhex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

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
	"$lb" mcpspec -ops "$MCP_OPS" -out "$work/bench-api.yaml"
	cat >"$work/tidegate.yaml" <<EOF
listen: 127.0.0.1:$gw_port
providers:
  up:  {type: openai, base_url: http://127.0.0.1:$up_port/v1, api_key: bench}
  upa: {type: anthropic, base_url: http://127.0.0.1:$up_port, api_key: bench}
models:
  bench-openai:    {provider: up, model: gpt-mock}
  bench-anthropic: {provider: upa, model: claude-mock}
apis:
  bench: {spec: $work/bench-api.yaml, upstream: http://127.0.0.1:$up_port/api}
EOF
	taskset -c "$TARGET_CPU" "$work/tidegate" serve --config "$work/tidegate.yaml" >"$work/gateway.log" 2>&1 &
	gw_pid=$!
	pids+=("$gw_pid")
fi

# Governance gateways (f: keys + rpm, memory counters; g: the same with
# Redis counters): the same providers and models, each its own SQLite store.
# They idle on the target core while the other scenarios run.
admin_key=$(randhex 24)
gwk= gwk_pid= gwr= gwr_pid= key_f= key_g=
started= # pid of the last start_governed
start_governed() { # start_governed NAME PORT [extra config lines]
	local name=$1 port=$2
	shift 2
	{
		echo "listen: 127.0.0.1:$port"
		echo "auth: keys"
		echo "store: sqlite://$work/$name.db"
		printf '%s\n' "$@"
		sed 1d "$work/tidegate.yaml" # providers and models
	} >"$work/$name.yaml"
	TIDEGATE_ADMIN_KEY=$admin_key taskset -c "$TARGET_CPU" "$work/tidegate" serve --config "$work/$name.yaml" \
		>"$work/$name.log" 2>&1 &
	started=$!
	pids+=("$started")
}
if [[ $gateway == 1 ]] && want f; then
	gwk_port=$("$lb" freeport)
	gwk=http://127.0.0.1:$gwk_port
	start_governed bench "$gwk_port"
	gwk_pid=$started
fi
if [[ $gateway == 1 ]] && want g; then
	if "$lb" redis -addr "$REDIS_ADDR" ping 2>"$work/redis.log"; then
		redis_prefix="tgbench:$(randhex 6):"
		gwr_port=$("$lb" freeport)
		gwr=http://127.0.0.1:$gwr_port
		start_governed bench-redis "$gwr_port" "redis: redis://$REDIS_ADDR/0" "counters: {prefix: \"$redis_prefix\"}"
		gwr_pid=$started
	else
		log "skipping g: Redis at $REDIS_ADDR is not reachable ($(cat "$work/redis.log"))"
	fi
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
# governed_key URL PID NAME: waits for a governance gateway and prints a new
# virtual key with a limit of 100 million requests per minute.
governed_key() {
	local url=$1 pid=$2 name=$3
	if [[ $gateway == 1 ]] && "$lb" wait -addr "${url#http://}" -timeout 30s &&
		TIDEGATE_ADMIN_KEY=$admin_key "$lb" newkey -addr "$url" -name bench -rpm 100000000; then
		return 0
	fi
	log "the $name gateway did not start or did not create a key; skipping it. Its log:"
	sed 's/^/    /' "$work/$name.log" | tail -n 40 >&2
	kill "$pid" 2>/dev/null || true
	return 1
}
if [[ -n $gwk ]] && ! key_f=$(governed_key "$gwk" "$gwk_pid" bench); then gwk=; fi
if [[ -n $gwr ]] && ! key_g=$(governed_key "$gwr" "$gwr_pid" bench-redis); then gwr=; fi

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
	gateway-keys)
		[[ -n $gwk ]] || return 0
		addr=$gwk pid=$gwk_pid target=gateway
		;;
	gateway-redis)
		[[ -n $gwr ]] || return 0
		addr=$gwr pid=$gwr_pid target=gateway
		;;
	esac
	taskset -c "$DRIVER_CPU" "$lb" load -scenario "$scenario" -target "$target" -title "$title" \
		-addr "$addr" -pid "$pid" -driver-pids "$drivers" -target-cpu "$core" -d "$DURATION" -warmup "$WARMUP" \
		-out "$results" "$@" &
	load_pid=$! # waited for in the background so that a signal stops the run at once
	wait "$load_pid" || log "load $scenario/$target failed"
	load_pid=
}

c=$CONCURRENCY
for ((round = 1; round <= ROUNDS; round++)); do
[[ $ROUNDS == 1 ]] || log "round $round of $ROUNDS"
if want a; then
	measure a floor "OpenAI→OpenAI, c=$c" -c "$c"
	measure a gateway "OpenAI→OpenAI, c=$c" -c "$c"
fi
# f and g right after a: the governed gateways against the open one.
if want f; then
	measure f gateway-keys "OpenAI→OpenAI, key+rpm, memory, c=$c" -c "$c" -api-key "$key_f" -baseline a -vs-gateway a
fi
if want g; then
	measure g gateway-redis "OpenAI→OpenAI, key+rpm, Redis, c=$c" -c "$c" -api-key "$key_g" -baseline a -vs-gateway a \
		-redis "$REDIS_ADDR"
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
# MCP (the gateway's apis: side): a tools/call of a POST operation with a
# JSON body against the same request sent to the API directly, serial and
# concurrent, and tools/list of the whole $MCP_OPS-tool spec.
if want h; then
	measure h upstream "MCP tools/call vs the API, serial" -c 1 -api rest
	measure h floor "MCP tools/call vs the API, serial" -c 1 -api mcp-call
	measure h gateway "MCP tools/call vs the API, serial" -c 1 -api mcp-call
fi
if want i; then
	measure i gateway "MCP tools/list, $MCP_OPS tools, c=$c" -c "$c" -api mcp-list -mcp-tools "$MCP_OPS"
fi
if want j; then
	measure j upstream "MCP tools/call vs the API, c=$c" -c "$c" -api rest
	measure j floor "MCP tools/call vs the API, c=$c" -c "$c" -api mcp-call
	measure j gateway "MCP tools/call vs the API, c=$c" -c "$c" -api mcp-call
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
if [[ -n $gwk ]] && ! kill -0 "$gwk_pid" 2>/dev/null; then
	log "the keyed gateway (f) exited during the run; its log:"
	tail -n 40 "$work/bench.log" >&2
fi
if [[ -n $gwr ]] && ! kill -0 "$gwr_pid" 2>/dev/null; then
	log "the Redis-backed gateway (g) exited during the run; its log:"
	tail -n 40 "$work/bench-redis.log" >&2
fi
