#!/usr/bin/env bash
# Takes the README's screenshots (docs/screenshots/*.png) from the running demo: start
# `bash scripts/run.sh` in another terminal first. PASSERELLE_DEMO_URL overrides its address.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
url=${PASSERELLE_DEMO_URL:-http://127.0.0.1:3000}
curl -sf "$url/readyz" >/dev/null || { echo "no demo answers at $url: start bash scripts/run.sh first" >&2; exit 1; }
mkdir -p "$root/docs/screenshots"
cd "$root/end2end"
PASSERELLE_DEMO_URL="$url" PASSERELLE_SCREENSHOTS="$root/docs/screenshots" \
  npx playwright test --config screenshots.config.ts
ls -1 "$root/docs/screenshots"
