#!/usr/bin/env bash
# Benchmark (not a test): the CSV bulk import (issue 7) of 100 000 generated rows — dry run,
# commit, re-import of the same file — against PostgreSQL's COPY of the same rows, with rows per
# second, the import/COPY ratio and peak memory (this process and the PostgreSQL backend). Runs in
# the scratch database passerelle_bench_import, recreated on the server of DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres) and dropped afterwards.
# Usage: bash scripts/bench-import.sh [--rows N] [--keep]   (--keep: keep the scratch database)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# The domain's queries are checked at compile time against .sqlx/ (scripts/sqlx-prepare.sh).
SQLX_OFFLINE=true cargo build --profile server-release -p bench --bin import
"$root/target/server-release/import" "$url" "$@"
