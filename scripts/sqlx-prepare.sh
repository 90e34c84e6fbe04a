#!/usr/bin/env bash
# Regenerates the committed sqlx offline data (.sqlx/) after a query or a migration changed,
# against the embedded cluster (or DATABASE_URL's database).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
if [ -z "${DATABASE_URL:-}" ]; then
  url=$(PASSERELLE_DATA_DIR="$root/target/sqlx-check" SQLX_OFFLINE=true cargo run -q -p passerelle -- db start)
else
  url=$DATABASE_URL
fi
DATABASE_URL="$url" cargo sqlx prepare --workspace -- -p domain
