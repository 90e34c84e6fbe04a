#!/usr/bin/env bash
# Benchmark (not a test): password sign-ins per second through the real HTTP endpoint of a release
# build against bare Argon2id verifications with the same parameters, in one run.
# Usage: bash scripts/bench.sh [SECONDS] [CONCURRENCY]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo leptos build --release --precompress
cargo build --profile server-release -p bench
data="$root/target/bench-data"
rm -rf "$data"
port=3950
PASSERELLE_DEMO_DATA=true PASSERELLE_TRUSTED_PROXIES=127.0.0.1 PASSERELLE_DATA_DIR="$data" PASSERELLE_LISTEN="127.0.0.1:$port" PASSERELLE_PUBLIC_URL="http://127.0.0.1:$port" \
  PASSERELLE_SITE_ROOT="$root/target/site" DATABASE_URL= RUST_LOG=warn "$root/target/server-release/passerelle" serve &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
# Given the server's pid, the benchmark reports its resident memory: idle, peak and after.
"$root/target/server-release/bench" "127.0.0.1:$port" "${1:-20}" "${2:-4}" "$server"
