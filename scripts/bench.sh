#!/usr/bin/env bash
# Benchmark (not a test): password sign-ins per second through the real HTTP endpoint of a release
# build against bare Argon2id verifications with the same parameters, in one run; then the same
# load through a fleet of two instances behind nginx (scripts/fleet.sh) over the same database:
# the two rates side by side tell whether the hash (the cores) or the database is the limit.
# Usage: bash scripts/bench.sh [SECONDS] [CONCURRENCY]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo leptos build --release --precompress
cargo build --profile server-release -p bench
data="$root/target/bench-data"
rm -rf "$data"
port=3950
fleet_port=3960
bin="$root/target/server-release/passerelle"
stop_all() {
  [ -n "${server:-}" ] && { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
  PASSERELLE_BIN="$bin" bash "$root/scripts/fleet.sh" stop "$data" >/dev/null 2>&1 || true
}
trap stop_all EXIT

echo "== one instance"
PASSERELLE_DEMO_DATA=true PASSERELLE_TRUSTED_PROXIES=127.0.0.1 PASSERELLE_DATA_DIR="$data" PASSERELLE_LISTEN="127.0.0.1:$port" PASSERELLE_PUBLIC_URL="http://127.0.0.1:$port" \
  PASSERELLE_SITE_ROOT="$root/target/site" DATABASE_URL= RUST_LOG=warn "$bin" serve &
server=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
# The sign-ins go round a crowd of professionals (BENCH_ACCOUNTS, 200 by default), created by the
# benchmark in the server's database once; each client keeps its browser's cookies.
export BENCH_DATABASE_URL
BENCH_DATABASE_URL=$(PASSERELLE_DATA_DIR="$data" DATABASE_URL= "$bin" db start 2>/dev/null)
# Given the server's pid, the benchmark reports its resident memory: idle, peak and after.
"$root/target/server-release/bench" "127.0.0.1:$port" "${1:-20}" "${2:-4}" "$server"
kill "$server"; wait "$server" 2>/dev/null || true; server=

echo
echo "== a fleet of two instances behind nginx, same database, same load"
# nginx adds the bench's loopback address to X-Forwarded-For: both are trusted proxies, so that
# each sign-in keeps the address of its own the bench gives it.
PASSERELLE_BIN="$bin" PASSERELLE_TRUSTED_PROXIES=127.0.0.4,127.0.0.1 PASSERELLE_SITE_ROOT="$root/target/site" \
  RUST_LOG=warn bash "$root/scripts/fleet.sh" start "$data" 2 "$fleet_port"
# The same crowd, in the database as the fleet started it again (another port).
BENCH_DATABASE_URL=$(PASSERELLE_DATA_DIR="$data" DATABASE_URL= "$bin" db start 2>/dev/null)
"$root/target/server-release/bench" "127.0.0.1:$fleet_port" "${1:-20}" "${2:-4}"
