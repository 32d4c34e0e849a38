#!/usr/bin/env bash
# A bulk load longer than the decision log's journal bound (issue 14):
# STREAMS brief NDJSON streams of LEADS leads each, back to back, into one
# server a log (off, SQLite, PostgreSQL), each started fresh. log.sh's
# 100,000-lead streams fit in the journal (--log-journal, 131,072
# decisions by default) and are indexed after they end; past the bound the
# writer indexes as it writes, and this measures the pace the stream then
# keeps. From bench/:
#
#   LEADQ_BENCH_POSTGRES=postgres://... bash stream/sustained.sh [LEADS] [STREAMS] [serve flags...]
#
# e.g. `bash stream/sustained.sh 100000 10 --log-journal 2000000`. Prints,
# a log: the streams' leads/s together, the leads/s until the indexer has
# caught up as well, and how much of the machine sat idle meanwhile (all
# cores, from /proc/stat). Without LEADQ_BENCH_POSTGRES the PostgreSQL row
# is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
streams=${2:-10}
shift $(($# < 2 ? $# : 2))
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

go run ./cmd/genleads -n "$n" > "$tmp/leads.ndjson"
go -C .. build -o "$tmp/leadq" ./cmd/leadq
go build -o "$tmp/streampost" ./cmd/streampost
# idle and total clock ticks of all cores so far
cpuidle() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t}' /proc/stat; }
# The log's backlog from /readyz: queued and unindexed (sed, not a JSON
# parser: polling must cost the machine little).
backlog() {
  curl -s "http://127.0.0.1:$1/readyz" | sed -n 's/.*"queued":\([0-9]*\).*"unindexed":\([0-9]*\).*/\1 \2/p'
}
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $streams streams of $n leads back to back; serve flags: ${*:-none}"

logs="off sqlite"
[ -n "${LEADQ_BENCH_POSTGRES:-}" ] && logs="$logs postgres"
port=18183
for log in $logs; do
  args=()
  db=""
  case $log in
  sqlite) args=(--log-db "$tmp/decisions.db") ;;
  postgres)
    db="leadq_sustained_$$"
    psql -q "$LEADQ_BENCH_POSTGRES" -c "CREATE DATABASE $db" >/dev/null
    args=(--log-db "$(sed -E "s#(postgres(ql)?://[^/]*/)[^?]*#\1$db#" <<<"$LEADQ_BENCH_POSTGRES")") ;;
  esac
  [ "$log" != off ] && args+=("$@")
  "$tmp/leadq" serve --rules ../examples/rulesets --addr "127.0.0.1:$port" "${args[@]}" 2>"$tmp/leadq-$log.log" &
  pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
    sleep 0.1
  done
  read -r idle0 total0 < <(cpuidle)
  start=$(date +%s.%N)
  for _ in $(seq "$streams"); do
    "$tmp/streampost" -url "http://127.0.0.1:$port/v1/score/stream?ruleset=b2b-saas&detail=brief" "$tmp/leads.ndjson" >/dev/null
  done
  streamed=$(date +%s.%N)
  read -r idle1 total1 < <(cpuidle)
  if [ "$log" != off ]; then
    for _ in $(seq 6000); do # up to ten minutes
      [ "$(backlog $port)" = "0 0" ] && break
      sleep 0.1
    done
  fi
  indexed=$(date +%s.%N)
  awk -v name="$log" -v n=$((n * streams)) -v a="$start" -v b="$streamed" -v c="$indexed" -v i0="$idle0" -v i1="$idle1" -v t0="$total0" -v t1="$total1" \
    'BEGIN {printf "%s: streams %d leads/s, until indexed %d leads/s; idle %d%% of the machine while streaming\n", name, n / (b - a), n / (c - a), 100 * (i1 - i0) / (t1 - t0)}'
  kill -TERM "$pid"; wait "$pid" || true
  [ -n "$db" ] && psql -q "$LEADQ_BENCH_POSTGRES" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
  port=$((port + 1))
done
