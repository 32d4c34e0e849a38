#!/usr/bin/env bash
# NDJSON streams end to end with the decision log off, on SQLite and on
# PostgreSQL (issue 14): the same leads through stream/run.sh's client, a
# fresh server and log for each, then how many decisions each log holds
# (every answered decision must be there: --log-overflow block, the
# default). From bench/:
#
#   LEADQ_BENCH_POSTGRES=postgres://... bash stream/log.sh [LEADS] [ROUNDS]
#
# Without LEADQ_BENCH_POSTGRES the PostgreSQL row is skipped. Prints each
# run and the median leads/s of each log and detail, and the CPU time the
# server used a lead (with the log on, until two seconds after the stream:
# the writer's last batches and search keys), and PostgreSQL's (its
# processes' CPU time, when it runs on this machine).
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
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $n leads ($(du -h "$tmp/leads.ndjson" | cut -f1)), $rounds rounds"

logs="off sqlite"
[ -n "${LEADQ_BENCH_POSTGRES:-}" ] && logs="$logs postgres"
for log in $logs; do
  args=()
  case $log in
  sqlite) args=(--log-db "$tmp/decisions.db") ;;
  postgres)
    # A database of its own, dropped at the end.
    db="leadq_bench_$$"
    psql -q "$LEADQ_BENCH_POSTGRES" -c "CREATE DATABASE $db" >/dev/null
    url=$(sed -E "s#(postgres(ql)?://[^/]*/)[^?]*#\1$db#" <<<"$LEADQ_BENCH_POSTGRES")
    args=(--log-db "$url") ;;
  esac
  "$tmp/leadq" serve --rules ../examples/rulesets --addr 127.0.0.1:18083 "${args[@]}" 2>"$tmp/leadq-$log.log" &
  server=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:18083/healthz" && break
    sleep 0.1
  done
  for r in $(seq "$rounds"); do
    for detail in brief full; do
      before=$(ticks $server)
      [ "$log" = postgres ] && pgbefore=$(pgticks)
      out=$("$tmp/streampost" -url "http://127.0.0.1:18083/v1/score/stream?ruleset=b2b-saas&detail=$detail" "$tmp/leads.ndjson" 2>&1)
      [ "$log" != off ] && sleep 2 # the writer's last batches and search keys
      cpu=$(( ($(ticks $server) - before) * 1000000 / hz / n ))
      pg=""
      [ "$log" = postgres ] && pg=", PostgreSQL's $(( ($(pgticks) - pgbefore) * 1000000 / hz / n )) µs"
      rate=$(sed -n 's/.*: \([0-9]*\) leads\/s.*/\1/p' <<<"$out")
      echo "$log $detail $rate leads/s, server CPU $cpu µs a lead$pg; $(head -1 <<<"$out")" | tee -a "$tmp/results"
    done
  done
  kill -TERM $server; wait $server || true
  if [ "$log" != off ]; then
    target=${args[1]}
    held=$("$tmp/leadq" stats --log "$target" --since 24h --format json | python3 -c 'import json,sys; print(sum(r["decisions"] for r in json.load(sys.stdin)["rulesets"]))')
    echo "$log: the log holds $held decisions of $((n * rounds * 2)) answered; $(grep 'decision log closed' "$tmp/leadq-$log.log" | sed 's/.*msg="decision log closed"//')"
    [ "$log" = postgres ] && psql -q "$LEADQ_BENCH_POSTGRES" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
  fi
done
echo
for log in $logs; do
  for detail in brief full; do
    echo "$log $detail: median $(grep "^$log $detail " "$tmp/results" | cut -d' ' -f3 | median) leads/s, server CPU $(grep "^$log $detail " "$tmp/results" | cut -d' ' -f7 | median) µs a lead$([ "$log" = postgres ] && echo ", PostgreSQL's $(grep "^$log $detail " "$tmp/results" | cut -d' ' -f12 | median) µs")"
  done
done
