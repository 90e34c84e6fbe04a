#!/usr/bin/env bash
# Benchmark (not a test): anonymous refusals at 2 000 requests per second for 30 s against a
# release build, from 200 addresses, while one client signs in with the password every second.
# Prints the sign-in latencies, the refusals' answers, the server's database connections in use
# and the audit rows written (bench/src/bin/flood.rs), then what the server logged about its pool.
# Needs a PostgreSQL server (DATABASE_URL, default the local one): the scratch database
# passerelle_bench_flood is recreated on it.
# Usage: bash scripts/bench-flood.sh [RATE] [SECONDS] [SOURCES]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db=passerelle_bench_flood
url="${admin_url%/*}/$db"
SQLX_OFFLINE=true cargo build --profile server-release -p passerelle -p bench --bin passerelle --bin flood
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"

data="$root/target/bench-flood-data"
rm -rf "$data"
mkdir -p "$data"
# A throwaway trust anchor, so that the card endpoints run their checks as in production.
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=Banc d'essai" -days 2 \
  -keyout "$data/ca.key" -out "$data/ca.pem" 2>/dev/null

port=3960
# The flood's addresses travel in X-Forwarded-For, believed from 127.0.0.1 as from a proxy.
DATABASE_URL="$url" PASSERELLE_DATA_DIR="$data" PASSERELLE_LISTEN="127.0.0.1:$port" \
  PASSERELLE_PUBLIC_URL="http://127.0.0.1:$port" PASSERELLE_SITE_ROOT="$root/target/site" \
  PASSERELLE_DEMO_DATA=true PASSERELLE_TIQR_ENABLED=true PASSERELLE_TRUSTED_PROXIES=127.0.0.1 \
  PASSERELLE_CARD_CA_BUNDLE="$data/ca.pem" RUST_LOG=warn \
  "$root/target/server-release/passerelle" serve >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done

"$root/target/server-release/flood" "127.0.0.1:$port" "$url" "${1:-2000}" "${2:-30}" "${3:-200}"

echo "== server log ($data/server.log)"
echo "pool acquire timeouts: $(grep -ci 'pool timed out' "$data/server.log" || true)"
echo "errors: $(grep -c ' ERROR ' "$data/server.log" || true), warnings: $(grep -c ' WARN ' "$data/server.log" || true)"
grep -E ' (ERROR|WARN) ' "$data/server.log" | sed -E 's/^[^ ]+ //' | sort | uniq -c | sort -rn | head -5 || true
