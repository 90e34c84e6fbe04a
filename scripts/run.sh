#!/usr/bin/env bash
# Installs what is missing, builds Passerelle (release) and serves it on http://127.0.0.1:3000.
# Without configuration it runs its own PostgreSQL cluster in ./data; without arguments it runs
# `passerelle serve --demo` (demo accounts, whose password is in the README).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo leptos build --release
export PASSERELLE_SITE_ROOT="${PASSERELLE_SITE_ROOT:-$root/target/site}"
# Without arguments: the demonstration (demo accounts, e-mailed links and codes in the log).
if [ $# -eq 0 ]; then set -- serve --demo; fi
exec "$root/target/server-release/passerelle" "$@"
