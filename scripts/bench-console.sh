#!/usr/bin/env bash
# Benchmark (not a test): the admin console's user and audit searches on generated data (100 000
# users, 1 000 000 audit rows) in the scratch database passerelle_bench_console, recreated on the
# server of DATABASE_URL. Prints p50/p95 latencies per query.
# Usage: bash scripts/bench-console.sh [--drop]   (--drop: drop the scratch database afterwards)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# The domain's queries are checked at compile time against .sqlx/ (scripts/sqlx-prepare.sh).
SQLX_OFFLINE=true cargo build --profile server-release -p bench --bin console
"$root/target/server-release/console" "$url" "$@"
