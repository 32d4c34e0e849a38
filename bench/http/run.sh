#!/usr/bin/env bash
# HTTP keep-alive throughput of `leadq serve` against a bare net/http JSON
# echo (cmd/echo), with the same load tool (wrk), the same leads and the
# same connections, one after the other in one run. Needs wrk (Debian
# package wrk). Run from bench/:   bash http/run.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-32}
secs=${2:-10}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

go run ./cmd/genleads -n 10000 > "$tmp/leads.ndjson"
go -C .. build -o "$tmp/leadq" ./cmd/leadq
go build -o "$tmp/echo" ./cmd/echo

"$tmp/leadq" serve --rules ../examples/rulesets --addr 127.0.0.1:18080 2>"$tmp/leadq.log" &
"$tmp/echo" -addr 127.0.0.1:18081 &
for port in 18080 18081; do
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done
done

load() { # name url
  LEADS="$tmp/leads.ndjson" wrk -t1 -c"$conns" -d"${secs}s" --latency -s http/post.lua "$2" | tee "$tmp/$1.out" >&2
  grep '^RESULT' "$tmp/$1.out" | sed "s/^RESULT/$1/"
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $conns connections, ${secs}s each, wrk -t1" >&2
load echo "http://127.0.0.1:18081/"
load leadq "http://127.0.0.1:18080/v1/score?ruleset=b2b-saas"
load echo "http://127.0.0.1:18081/"
load leadq "http://127.0.0.1:18080/v1/score?ruleset=b2b-saas"
