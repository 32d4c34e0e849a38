#!/usr/bin/env bash
# HTTP keep-alive throughput of `leadq serve` against a bare net/http JSON
# echo (cmd/echo), with the same load tool (wrk), the same leads and the
# same connections, taking turns in one run so that both meet the same
# neighbours. Needs wrk (Debian package wrk). From bench/:
#
#   bash http/run.sh [CONNECTIONS] [SECONDS] [ROUNDS]
#
# SERVER_PROCS=1 runs both servers with GOMAXPROCS=1, leaving the other core
# to wrk: on a two-core machine the load tool and the server otherwise take
# turns on the same cores, and the scheduler's time slices become the tail.
#
# Prints each run, then the median requests/s and p99 of each server and
# leadq's share of echo's throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-32}
secs=${2:-10}
rounds=${3:-3}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

go run ./cmd/genleads -n 10000 > "$tmp/leads.ndjson"
go -C .. build -o "$tmp/leadq" ./cmd/leadq
go build -o "$tmp/echo" ./cmd/echo

procs=()
if [ -n "${SERVER_PROCS:-}" ]; then procs=(env GOMAXPROCS="$SERVER_PROCS"); fi
"${procs[@]}" "$tmp/leadq" serve --rules ../examples/rulesets --addr 127.0.0.1:18080 2>"$tmp/leadq.log" &
"${procs[@]}" "$tmp/echo" -addr 127.0.0.1:18081 &
for port in 18080 18081; do
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
    sleep 0.1
  done
done

declare -A url=(
  [echo]="http://127.0.0.1:18081/"
  [leadq]="http://127.0.0.1:18080/v1/score?ruleset=b2b-saas"
  [leadq-brief]="http://127.0.0.1:18080/v1/score?ruleset=b2b-saas&detail=brief"
)
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); wrk -t1 -c$conns -d${secs}s, $rounds rounds; server GOMAXPROCS ${SERVER_PROCS:-all cores}"
for r in $(seq "$rounds"); do
  for name in echo leadq leadq-brief; do
    LEADS="$tmp/leads.ndjson" wrk -t1 -c"$conns" -d"${secs}s" -s http/post.lua "${url[$name]}" |
      sed -n "s/^RESULT/$name/p" | tee -a "$tmp/results"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { grep "^$1 " "$tmp/results" | tr ' ' '\n' | sed -n "s/^$2=//p" | median; }
echo
echo "| server | requests/s (median) | p50 µs | p99 µs | × echo |"
echo "|---|---:|---:|---:|---:|"
base=$(field echo rps)
for name in echo leadq leadq-brief; do
  rps=$(field "$name" rps)
  echo "| $name | $rps | $(field "$name" p50_us) | $(field "$name" p99_us) | $(awk -v a="$rps" -v b="$base" 'BEGIN {printf "%.2f", a/b}') |"
done
