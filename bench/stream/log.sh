#!/usr/bin/env bash
# NDJSON streams end to end with the decision log off, on SQLite and on
# PostgreSQL (issue 14): the same leads through stream/run.sh's client,
# then how many decisions each log holds (every answered decision must be
# there: --log-overflow block, the default). From bench/:
#
#   LEADQ_BENCH_POSTGRES=postgres://... bash stream/log.sh [LEADS] [ROUNDS]
#
# One fresh server a log, all started at once; each round runs the stream
# against them in turn (log off, SQLite, PostgreSQL), so that the three
# see the machine alike: on a shared machine leads/s moves by a fifth
# within minutes, and a log's round is held to the log-off round just
# before it. Without LEADQ_BENCH_POSTGRES the PostgreSQL row is skipped.
# With LEADQ_BENCH_MASK set (hash, drop, or either with :fields, as
# --log-mask reads it) both logs mask personal data, hashing with a key
# made for the run. Prints each run; then, a log and detail, the median
# leads/s and its ratio to log off (the median of the rounds' ratios, and
# their range), the CPU time the server used a lead until the writer has
# stored the stream's last decision (in the journal), and PostgreSQL's
# (its processes' CPU time, when it runs on this machine); then how long
# the indexer took to move them into the indexed tables once the stream
# ended (the writer's idle time included) and the CPU time that took, a
# lead of the stream.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
rounds=${2:-3}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

go run ./cmd/genleads -n "$n" > "$tmp/leads.ndjson"
go -C .. build -o "$tmp/leadq" ./cmd/leadq
go build -o "$tmp/streampost" ./cmd/streampost
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# CPU time a process has used, in clock ticks (user + system): on a shared
# machine, CPU a lead moves far less than leads/s.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The same for a PostgreSQL server on this machine: its postmaster and the
# processes it started (0 when its data directory cannot be read).
pgticks() {
  local pm t=0
  pm=$(head -1 "$(psql -Atq "$LEADQ_BENCH_POSTGRES" -c 'SHOW data_directory')/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  for p in $pm $(ps -o pid= --ppid "$pm"); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(ticks "$p")))
  done
  echo $t
}
hz=$(getconf CLK_TCK)
# The decision log's health from the server on port $1's /readyz:
# queued, lag_seconds, unindexed (sed, not a JSON parser: polling must
# cost the machine little).
health() {
  curl -s "http://127.0.0.1:$1/readyz" | sed -n 's/.*"lag_seconds":\([0-9.e+-]*\).*"queued":\([0-9]*\).*"unindexed":\([0-9]*\).*/\2 \1 \3/p'
}
# waitfor PORT COND: polls the health until COND (an awk condition on $1
# queued, $2 lag_seconds, $3 unindexed) holds, for up to five minutes.
waitfor() {
  for _ in $(seq 6000); do
    health "$1" | awk "{exit !($2)}" && return
    sleep 0.05
  done
  echo "timed out waiting for $2" >&2
}
mask=()
if [ -n "${LEADQ_BENCH_MASK:-}" ]; then
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/mask.key"
  mask=(--log-mask "$LEADQ_BENCH_MASK" --log-mask-key-file "$tmp/mask.key")
fi
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $n leads ($(du -h "$tmp/leads.ndjson" | cut -f1)), $rounds rounds; mask ${LEADQ_BENCH_MASK:-none}"

logs="off sqlite"
[ -n "${LEADQ_BENCH_POSTGRES:-}" ] && logs="$logs postgres"
declare -A port pid target
p=18083
for log in $logs; do
  args=()
  case $log in
  sqlite) target[$log]="$tmp/decisions.db" ;;
  postgres)
    # A database of its own, dropped at the end.
    db="leadq_bench_$$"
    psql -q "$LEADQ_BENCH_POSTGRES" -c "CREATE DATABASE $db" >/dev/null
    target[$log]=$(sed -E "s#(postgres(ql)?://[^/]*/)[^?]*#\1$db#" <<<"$LEADQ_BENCH_POSTGRES") ;;
  esac
  [ "$log" != off ] && args=(--log-db "${target[$log]}" "${mask[@]}")
  port[$log]=$p
  "$tmp/leadq" serve --rules ../examples/rulesets --addr "127.0.0.1:$p" "${args[@]}" 2>"$tmp/leadq-$log.log" &
  pid[$log]=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$p/healthz" && break
    sleep 0.1
  done
  p=$((p + 1))
done
for r in $(seq "$rounds"); do
  for detail in brief full; do
    for log in $logs; do
      server=${pid[$log]}
      before=$(ticks $server)
      [ "$log" = postgres ] && pgbefore=$(pgticks)
      out=$("$tmp/streampost" -url "http://127.0.0.1:${port[$log]}/v1/score/stream?ruleset=b2b-saas&detail=$detail" "$tmp/leads.ndjson" 2>&1)
      rate=$(sed -n 's/.*: \([0-9]*\) leads\/s.*/\1/p' <<<"$out")
      if [ "$log" = off ]; then
        off=$rate
        cpu=$(( ($(ticks $server) - before) * 1000000 / hz / n ))
        echo "$log $detail rate=$rate cpu=$cpu; $(head -1 <<<"$out")" | tee -a "$tmp/results"
        continue
      fi
      ratio=$(awk -v a="$rate" -v b="$off" 'BEGIN {printf "%.2f", a / b}')
      waitfor "${port[$log]}" '$1 == 0 && $2 == 0' # the writer has stored the last decision
      stored=$(date +%s.%N)
      mid=$(ticks $server)
      cpu=$(( (mid - before) * 1000000 / hz / n ))
      pg=""
      [ "$log" = postgres ] && pgmid=$(pgticks) && pg=" pg=$(( (pgmid - pgbefore) * 1000000 / hz / n ))"
      waitfor "${port[$log]}" '$3 == 0' # the indexer has caught up
      catchup=$(python3 -c "import time; print(f'{time.time() - $stored:.2f}')")
      icpu=$(( ($(ticks $server) - mid) * 1000000 / hz / n ))
      ipg=""
      [ "$log" = postgres ] && ipg=" ipg=$(( ($(pgticks) - pgmid) * 1000000 / hz / n ))"
      echo "$log $detail rate=$rate ratio=$ratio cpu=$cpu$pg catchup=$catchup icpu=$icpu$ipg; $(head -1 <<<"$out")" | tee -a "$tmp/results"
    done
  done
done
for log in $logs; do
  kill -TERM "${pid[$log]}"; wait "${pid[$log]}" || true
  if [ "$log" != off ]; then
    held=$("$tmp/leadq" stats --log "${target[$log]}" --since 24h --format json | python3 -c 'import json,sys; print(sum(r["decisions"] for r in json.load(sys.stdin)["rulesets"]))')
    echo "$log: the log holds $held decisions of $((n * rounds * 2)) answered; $(grep 'decision log closed' "$tmp/leadq-$log.log" | sed 's/.*msg="decision log closed"//')"
    [ "$log" = postgres ] && psql -q "$LEADQ_BENCH_POSTGRES" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
  fi
done
echo
# med KEY LOG DETAIL: the median of KEY=value over the runs.
med() { grep "^$2 $3 " "$tmp/results" | sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | median; }
for log in $logs; do
  for detail in brief full; do
    line="$log $detail: median $(med rate $log $detail) leads/s"
    [ "$log" != off ] && line="$line, $(med ratio $log $detail) of log off (rounds $(grep "^$log $detail " "$tmp/results" | sed -n 's/.* ratio=\([0-9.]*\).*/\1/p' | sort -n | sed -n '1p;$p' | paste -sd-))"
    line="$line, server CPU $(med cpu $log $detail) µs a lead"
    [ "$log" = postgres ] && line="$line, PostgreSQL's $(med pg $log $detail) µs"
    [ "$log" != off ] && line="$line; indexed $(med catchup $log $detail) s later, server CPU $(med icpu $log $detail) µs a lead"
    [ "$log" = postgres ] && line="$line, PostgreSQL's $(med ipg $log $detail) µs"
    echo "$line"
  done
done
