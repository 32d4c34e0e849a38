#!/usr/bin/env bash
# NDJSON streams end to end: `leadq serve` and cmd/streampost, a Go client
# that streams a file of generated leads to /v1/score/stream and counts the
# answers, brief and full in turn. From bench/:
#
#   bash stream/run.sh [LEADS] [ROUNDS]
#
# Prints each run (leads/s, and the CPU time the server and the client
# used), then the median leads/s of each kind.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
rounds=${2:-3}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

go run ./cmd/genleads -n "$n" > "$tmp/leads.ndjson"
go -C .. build -o "$tmp/leadq" ./cmd/leadq
go build -o "$tmp/streampost" ./cmd/streampost

"$tmp/leadq" serve --rules ../examples/rulesets --addr 127.0.0.1:18082 2>"$tmp/leadq.log" &
server=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:18082/healthz" && break
  sleep 0.1
done
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in clock ticks
tick=$(getconf CLK_TCK)

echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $n leads ($(du -h "$tmp/leads.ndjson" | cut -f1)), $rounds rounds"
for r in $(seq "$rounds"); do
  for detail in brief full; do
    before=$(cpu "$server")
    out=$( { /usr/bin/time -f 'client %U %S' "$tmp/streampost" -url "http://127.0.0.1:18082/v1/score/stream?ruleset=b2b-saas&detail=$detail" "$tmp/leads.ndjson"; } 2>&1 )
    after=$(cpu "$server")
    rate=$(sed -n 's/.*: \([0-9]*\) leads\/s.*/\1/p' <<<"$out")
    client=$(awk '/^client/ {printf "%.2f", $2 + $3}' <<<"$out")
    server_s=$(awk -v a="$before" -v b="$after" -v t="$tick" 'BEGIN {printf "%.2f", (b - a) / t}')
    echo "$detail $rate leads/s; server $server_s CPU-s, client $client CPU-s; $(head -1 <<<"$out")" | tee -a "$tmp/results"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
for detail in brief full; do
  echo "$detail: median $(grep "^$detail " "$tmp/results" | cut -d' ' -f2 | median) leads/s"
done
