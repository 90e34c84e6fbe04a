#!/usr/bin/env bash
# Installs what is missing, builds Passerelle (release) and serves it on http://127.0.0.1:3000.
# Without configuration it runs its own PostgreSQL cluster in ./data.
#
# Without arguments: the demonstration. Demo accounts (their password is in the README), the
# e-mails readable at /demo/courriels, and every sign-in mode this machine can run, started on
# loopback beside the portal as the tests start them:
#   - Pro Santé Connect: the test provider (end2end/psc-provider; needs Node and npm's packages);
#   - the CPS card with its PIN: a private pcscd with a virtual reader and a virtual card, and
#     the card agent (needs root, pcscd and the vpcd driver);
#   - the card's certificate through nginx as TLS terminator, with the demo PKI (needs nginx);
#   - TIQR, username and password, e-mailed codes: always.
# A mode whose tools are missing is reported as off, with the reason; it never stops the demo.
# Ctrl-C stops everything this script started.
#
# With arguments: `passerelle <arguments>` (e.g. `scripts/run.sh serve --config passerelle.toml`).
#
# The demo's addresses can be moved (the test command runs it beside its own tests):
# PASSERELLE_DEMO_PORT (3000), PASSERELLE_DEMO_CARD_PORT (3443), PASSERELLE_DEMO_AGENT_PORT
# (24231), PASSERELLE_DATA_DIR (./data); PASSERELLE_RUN_PROFILE=debug serves the debug build.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export PASSERELLE_SITE_ROOT="${PASSERELLE_SITE_ROOT:-$root/target/site}"
if [ "${PASSERELLE_RUN_PROFILE:-release}" = debug ]; then
  cargo leptos build
  passerelle="$root/target/debug/passerelle"
  bin="$root/target/debug"
  build_tools=(cargo build -q -p passerelle-agent -p testkit --bins)
else
  cargo leptos build --release --precompress
  passerelle="$root/target/server-release/passerelle"
  bin="$root/target/release"
  build_tools=(cargo build --release -q -p passerelle-agent -p testkit --bins)
fi
if [ $# -gt 0 ]; then exec "$passerelle" "$@"; fi

port=${PASSERELLE_DEMO_PORT:-3000}
card_port=${PASSERELLE_DEMO_CARD_PORT:-3443}
agent_port=${PASSERELLE_DEMO_AGENT_PORT:-24231}
origin="http://127.0.0.1:$port"
data=${PASSERELLE_DATA_DIR:-$root/data}
mkdir -p "$data" && data=$(cd "$data" && pwd)
export PASSERELLE_DATA_DIR="$data"
# What the demo's services keep between runs (the demo PKI, so that a trusted CA stays trusted).
demo="$data/demo-services"
run="$demo/run"
mkdir -p "$demo" && rm -rf "$run" && mkdir -p "$run" && chmod 711 "$data" "$demo" "$run"
"${build_tools[@]}"

say() { printf '\033[1m[demo]\033[0m %s\n' "$*"; }
off() { say "OFF  $1 — $2"; }
on() { say "ON   $1"; }
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash "$root/scripts/tls-terminator.sh" stop "$run/nginx" >/dev/null 2>&1 || true
  bash "$root/scripts/card-lab.sh" stop "$run/card-lab" >/dev/null 2>&1 || true
  bash "$root/scripts/psc-provider.sh" stop "$run/psc" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The demo's desk and administrators sign in with the published password: the demo accepts it
# for every role (a deployment keeps the default: a card, Pro Santé Connect, a passkey or TIQR).
env_vars=(PASSERELLE_LISTEN="127.0.0.1:$port" PASSERELLE_PUBLIC_URL="$origin"
  PASSERELLE_POLICY_SUPPORT=any PASSERELLE_POLICY_REGIONAL_ADMIN=any PASSERELLE_POLICY_NATIONAL_ADMIN=any)
modes=()

# --- Pro Santé Connect (the test provider, its sign-in page listing the demo identities) -------
if ! command -v node >/dev/null; then
  off "Pro Santé Connect" "Node.js is not installed"
elif PSC_REDIRECT_URIS="$origin/connexion/psc/retour" \
  PSC_BACKCHANNEL_LOGOUT_URI="$origin/connexion/psc/deconnexion" \
  PSC_POST_LOGOUT_REDIRECT_URIS="$origin/connexion?info=deconnecte" PSC_SHOW_IDENTITIES=1 \
  bash "$root/scripts/psc-provider.sh" start "$run/psc" > "$run/psc-start.log" 2>&1; then
  env_vars+=(PASSERELLE_PSC_ENABLED=true PASSERELLE_PSC_ISSUER="$(sed -n 's/^PSC_ISSUER=//p' "$run/psc/env")"
    PASSERELLE_PSC_CLIENT_ID=passerelle-jwt PASSERELLE_PSC_CLIENT_SECRET=passerelle-secret
    PASSERELLE_PSC_CLIENT_AUTH=basic)
  modes+=("Pro Santé Connect: its page lists the demo identities (card or e-CPS)")
else
  off "Pro Santé Connect" "the test provider did not start ($(tail -n 1 "$run/psc-start.log"))"
fi

# --- The demo PKI (IGC-Santé-shaped CAs, CRL, holders' cards), made once -----------------------
pki="$demo/pki"
if [ ! -f "$pki/ca-bundle.pem" ]; then
  "$bin/passerelle-test-pki" "$pki" > /dev/null
  # The holders' certificates for a browser (the TLS path), protected by their PIN.
  for holder in cps-martin cps-durand; do
    openssl pkcs12 -export -in "$pki/$holder.cert.pem" -inkey "$pki/$holder.key.pem" \
      -out "$pki/$holder.p12" -passout pass:1234 -name "$holder" 2>/dev/null || true
  done
fi
env_vars+=(PASSERELLE_CARD_CA_BUNDLE="$pki/ca-bundle.pem" PASSERELLE_CARD_CRL_FILES="$pki/personnes.crl.pem")

# --- The card with its PIN: a private pcscd, a virtual reader and card, the card agent ---------
card_reason=""
if [ "$(id -u)" != 0 ]; then card_reason="the virtual reader's pcscd needs root"
elif ! command -v pcscd >/dev/null; then card_reason="pcscd is not installed (apt install pcscd vsmartcard-vpcd)"
elif [ ! -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ]; then card_reason="the vpcd driver is not installed (apt install vsmartcard-vpcd)"
elif ! bash "$root/scripts/card-lab.sh" start "$run/card-lab" > "$run/card-lab.log" 2>&1; then
  card_reason="the card lab did not start ($(tail -n 1 "$run/card-lab.log"))"
elif ! PASSERELLE_VIRTUAL_CARD="$bin/passerelle-virtual-card" bash "$root/scripts/card-lab.sh" insert "$run/card-lab" \
  "$pki/cps-martin.cert.der" "$pki/cps-martin.key.der" 1234 >> "$run/card-lab.log" 2>&1; then
  card_reason="the virtual card could not be inserted ($(tail -n 1 "$run/card-lab.log"))"
fi
if [ -z "$card_reason" ]; then
  (set -a; source "$run/card-lab/env"; exec "$bin/passerelle-agent" --origin "$origin" \
    --listen "127.0.0.1:$agent_port" > "$run/agent.log" 2>&1) &
  agent=$!
  pids+=($agent)
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$agent_port/" && break
    kill -0 $agent 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 $agent 2>/dev/null; then
    env_vars+=(PASSERELLE_CARD_AGENT_URL="http://127.0.0.1:$agent_port")
  else
    card_reason="the card agent stopped ($(tail -n 1 "$run/agent.log"))"
  fi
fi
if [ -z "$card_reason" ]; then
  modes+=("CPS card with its PIN: the virtual card of Claire Martin (dr.martin) is in the reader, PIN 1234")
else
  off "CPS card with its PIN" "$card_reason"
fi

# --- The card's certificate through the TLS terminator ------------------------------------------
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  off "card certificate through TLS" "nginx is not installed"
elif bash "$root/scripts/tls-terminator.sh" start "$run/nginx" "$pki" "$card_port" "$port" > "$run/nginx-start.log" 2>&1; then
  env_vars+=(PASSERELLE_TRUSTED_PROXIES=127.0.0.2 PASSERELLE_CARD_TLS_PROXIES=127.0.0.2
    PASSERELLE_CARD_TLS_URL="https://127.0.0.1:$card_port")
  modes+=("CPS card certificate through nginx (https://127.0.0.1:$card_port): import $pki/cps-durand.p12 (password 1234) in the browser; its server certificate is signed by the demo root $pki/root.cert.pem — trust it in a Chromium profile kept for the demo with: certutil -d sql:\$HOME/.pki/nssdb -A -t 'C,,' -n 'Passerelle demo' -i $pki/root.cert.pem (package libnss3-tools), or start that profile with --ignore-certificate-errors")
else
  off "card certificate through TLS" "nginx did not start ($(tail -n 1 "$run/nginx-start.log"))"
fi

# --- The portal ---------------------------------------------------------------------------------
env "${env_vars[@]}" "$passerelle" serve --demo &
server=$!
pids+=($server)
for _ in $(seq 240); do
  curl -sf "$origin/readyz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { say "the portal stopped: see its messages above"; exit 1; }
  sleep 0.5
done
echo
for mode in "Username and password (demo password: Passerelle-Demo-2026), e-mailed codes, TIQR" "${modes[@]}"; do
  on "$mode"
done
say "Sign in at $origin/connexion — the demo's e-mails are at $origin/demo/courriels"
say "Ctrl-C stops the portal and everything above."
wait $server
