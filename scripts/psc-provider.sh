#!/usr/bin/env bash
# A real OpenID provider configured like Pro Santé Connect for the tests: panva's oidc-provider
# (end2end/psc-provider/server.mjs, installed by scripts/install-tools.sh) on loopback. The
# contract (endpoints, clients, claims, sign-in page, test-control API) is in
# end2end/psc-provider/README.md.
#
#   PSC_REDIRECT_URIS=http://127.0.0.1:3900/… [PSC_POST_LOGOUT_REDIRECT_URIS=…] \
#   [PSC_BACKCHANNEL_LOGOUT_URI=…] [PSC_CLIENT_JWKS_FILE=…] [PSC_USERS_FILE=…] \
#     bash scripts/psc-provider.sh start <dir> [port]
#           # (re)starts it; writes <dir>/env with PSC_PORT and PSC_ISSUER; log in <dir>/psc.log.
#           # Without a port: the one of the previous start in <dir> if still free, else a free one.
#   bash scripts/psc-provider.sh stop <dir>
#   bash scripts/psc-provider.sh selftest
#           # starts one in a temporary folder, runs end2end/psc-provider/selftest.mjs, stops it
#
# Stopping then starting again in the same <dir> is how a test simulates PSC being down (its
# sessions and signing key are lost, as after a real restart; POST /test/faults {"down": true}
# keeps them).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 start <dir> [port] | stop <dir> | selftest" >&2; exit 2; }
cmd=$1
root=$(cd "$(dirname "$0")/.." && pwd)
server="$root/end2end/psc-provider/server.mjs"

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 12000))
    port_in_use "$port" || { echo "$port"; return; }
  done
  echo "no free port found" >&2
  exit 1
}

stop() {
  local dir=$1 pid
  if [ -f "$dir/psc.pid" ]; then
    pid=$(cat "$dir/psc.pid")
    if [ -n "$pid" ] && grep -q psc-provider/server.mjs "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do [ -e "/proc/$pid" ] || break; sleep 0.05; done
      [ -e "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/psc.pid"
  fi
}

start() {
  local dir=$1 port=${2:-}
  [ -n "${PSC_REDIRECT_URIS:-}" ] || { echo "PSC_REDIRECT_URIS is required (comma-separated redirect URIs)" >&2; exit 2; }
  [ -d "$root/end2end/node_modules/oidc-provider" ] \
    || { echo "oidc-provider is not installed: run scripts/install-tools.sh (npm ci in end2end)" >&2; exit 1; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  stop "$dir"
  if [ -z "$port" ] && [ -f "$dir/env" ]; then
    port=$(sed -n 's/^PSC_PORT=//p' "$dir/env")
    if [ -n "$port" ] && port_in_use "$port"; then port=; fi
  fi
  [ -n "$port" ] || port=$(free_port)
  rm -f "$dir/env"
  echo "--- start on port $port" >> "$dir/psc.log"
  PSC_PORT=$port setsid node "$server" >> "$dir/psc.log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$dir/psc.pid"
  local issuer="http://127.0.0.1:$port/auth/realms/esante-wallet"
  # Ready when the discovery document answers (20 s at most on a loaded machine).
  for _ in $(seq 400); do
    curl -sf -o /dev/null --max-time 2 "$issuer/.well-known/wallet-openid-configuration" && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/psc.log" >&2; exit 1; }
    sleep 0.05
  done
  curl -sf -o /dev/null --max-time 2 "$issuer/.well-known/wallet-openid-configuration" \
    || { tail -n 20 "$dir/psc.log" >&2; stop "$dir"; exit 1; }
  printf 'PSC_PORT=%s\nPSC_ISSUER=%s\n' "$port" "$issuer" > "$dir/env"
  echo "PSC test provider: issuer $issuer (sign-in on http://localhost:$port/auth), log in $dir/psc.log"
}

selftest() {
  local rp_port status
  # Global: the EXIT trap runs after this function has returned.
  selftest_dir=$(mktemp -d /tmp/psc-selftest.XXXXXX)
  local dir=$selftest_dir
  trap 'stop "$selftest_dir"; rm -rf "$selftest_dir"' EXIT
  # The relying party played by the selftest: only its back-channel logout endpoint listens.
  rp_port=$(free_port)
  node "$root/end2end/psc-provider/selftest.mjs" prepare "$dir"
  export PSC_REDIRECT_URIS="http://127.0.0.1:$rp_port/connexion/psc/retour,http://127.0.0.1:$rp_port/autre"
  export PSC_POST_LOGOUT_REDIRECT_URIS="http://127.0.0.1:$rp_port/deconnexion"
  export PSC_BACKCHANNEL_LOGOUT_URI="http://127.0.0.1:$rp_port/connexion/psc/deconnexion"
  export PSC_CLIENT_JWKS_FILE="$dir/client-jwks.json" PSC_USERS_FILE="$dir/users.json"
  start "$dir"
  set +e
  node "$root/end2end/psc-provider/selftest.mjs" "$dir"
  status=$?
  set -e
  [ "$status" -eq 0 ] || { echo "--- $dir/psc.log"; tail -n 60 "$dir/psc.log"; }
  return "$status"
}

case $cmd in
  start) [ $# -ge 2 ] || { echo "usage: $0 start <dir> [port]" >&2; exit 2; }; start "$2" "${3:-}" ;;
  stop) [ $# -ge 2 ] || { echo "usage: $0 stop <dir>" >&2; exit 2; }; stop "$2" ;;
  selftest) selftest ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
