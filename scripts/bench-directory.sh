#!/usr/bin/env bash
# Benchmark (not a test): the national directory's load (issue 18) of a generated professionals'
# extraction of 2.3 million lines against PostgreSQL's COPY of the same file into a bare table, a
# re-load, the daily refresh over a full directory, and the public « Annuaire » search on 100 000
# establishments (p50, p95). Runs in the scratch database passerelle_bench_directory, recreated on
# the server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) and dropped
# afterwards. Needs ~1.5 GB free in the temporary folder for the generated files.
# Usage: bash scripts/bench-directory.sh [--rows N] [--establishments N] [--searches N] [--keep]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
SQLX_OFFLINE=true cargo build --profile server-release -p bench --bin directory
"$root/target/server-release/directory" "$url" "$@"
