#!/usr/bin/env bash
# Installs what is missing, builds Passerelle (release) and serves it on http://127.0.0.1:3000.
# Without configuration it runs its own PostgreSQL cluster in ./data and seeds demo accounts.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo leptos build --release
export PASSERELLE_SITE_ROOT="${PASSERELLE_SITE_ROOT:-$root/target/site}"
exec "$root/target/server-release/passerelle" "${@:-serve}"
