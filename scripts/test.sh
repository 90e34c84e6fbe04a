#!/usr/bin/env bash
# Runs every test of Passerelle on a Debian machine, installing what is missing first:
#   formatting and lints, unit and integration tests against a real PostgreSQL (the embedded
#   cluster, or DATABASE_URL's server when set), the sqlx offline data check, then a build of the
#   site and end-to-end tests in Debian's Chromium against a freshly seeded server.
# Ends with one line "N passed, N failed". `scripts/test.sh e2e`: the site build and the end-to-end
# part only.
set -euo pipefail
source "$(dirname "$0")/env.sh"
# The output name cargo-leptos gives the server's build: leptos reads it when it compiles, so the
# tests' build and the site's share the server's crates instead of building them twice.
export LEPTOS_OUTPUT_NAME=passerelle
# Every workspace crate is compiled through clippy-driver (rustc plus clippy's lints, warnings
# denied), for the tests' build and the site's alike: the lints cost no compilation of their own
# (a separate `cargo clippy` checked every dependency once more, ~3 minutes cold), and both builds
# see the same wrapper, so they share what they compile. Dependencies are compiled by rustc.
export CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER=clippy-driver
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
step() { printf '\n\033[1m== %s\033[0m (%ds)\n' "$*" "$SECONDS"; }

passed=0
failed=0
count() { # $1: log file of a cargo test run
  local p f
  p=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i } END { print s + 0 }' "$1")
  f=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) s += $i } END { print s + 0 }' "$1")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}

count_playwright() { # $1: log file of a Playwright run, $2: its exit status
  local p f
  p=$(grep -Eo '^\s*[0-9]+ passed' "$1" | grep -Eo '[0-9]+' | tail -1 || true)
  f=$(grep -Eo '^\s*[0-9]+ failed' "$1" | grep -Eo '[0-9]+' | tail -1 || true)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  # A run that failed without a test failing (it did not start, it timed out) is one failure.
  if [ "$2" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
}

# `scripts/test.sh e2e` runs only the site build and the end-to-end part (for development).
only=${1:-all}
if [ "$only" = all ]; then
step "format"
cargo fmt --all -- --check

step "layers (no module imports its importers; the domain's layers, ARCHITECTURE.md)"
python3 scripts/module-cycles.py domain/src app/src server/src agent/src model/src

step "lints (clippy, unwrap/expect denied outside tests) and unit and integration tests (real PostgreSQL)"
# Linted while compiled (CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER above): the tests' build covers every
# target clippy's `--all-targets` would (libraries and binaries, with and without `cfg(test)`,
# integration tests); the WebAssembly side (frontend, app and model with `hydrate`) is linted by
# the site's build below.
# The tests' build compiles the queries against a freshly migrated database when the machine's
# PostgreSQL answers, writing their descriptions aside (SQLX_OFFLINE_DIR, what `cargo sqlx
# prepare` collects): the offline data check below then compares folders instead of building the
# domain again. The variables are not tracked by cargo: the test run itself reuses that build.
sqlx_dir=$(mktemp -d /tmp/passerelle-sqlx-data.XXXXXX)
check_db=""
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 \
   && psql -h 127.0.0.1 -U postgres -d postgres -qc "SELECT 1" >/dev/null 2>&1; then
  check_db="passerelle_sqlx_check_$$"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $check_db" -c "CREATE DATABASE $check_db" >/dev/null
  for f in migrations/*.sql; do
    psql -h 127.0.0.1 -U postgres -d "$check_db" -q -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null \
      || { echo "(migration $f did not apply: the offline data is checked the slow way)"; check_db=""; break; }
  done
fi
log=$(mktemp)
set +e
if [ -n "$check_db" ]; then
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$check_db" SQLX_OFFLINE=false \
    SQLX_OFFLINE_DIR="$sqlx_dir" cargo test --workspace --exclude frontend --no-run
fi
cargo test --workspace --exclude frontend 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
count "$log"
[ "$status" -eq 0 ] || { echo "$passed passed, $((failed > 0 ? failed : 1)) failed"; exit 1; }

step "sqlx offline data is current"
if [ -n "$check_db" ] && diff -r -q "$sqlx_dir" .sqlx >/dev/null; then
  echo "the queries' descriptions from the build equal .sqlx ($(ls .sqlx | wc -l) queries)"
else
  # A build that reused earlier artefacts describes only the queries it compiled: the full check.
  # Fresh clusters in the system temporary folder: always reachable by `postgres` when run as root.
  db_dir=$(mktemp -d /tmp/passerelle-sqlx.XXXXXX) && chmod 711 "$db_dir"
  url=$(PASSERELLE_DATA_DIR="$db_dir" DATABASE_URL= cargo run -q -p passerelle -- db start)
  set +e
  DATABASE_URL="$url" SQLX_OFFLINE=false cargo sqlx prepare --workspace --check -- -p domain
  status=$?
  set -e
  PASSERELLE_DATA_DIR="$db_dir" DATABASE_URL= cargo run -q -p passerelle -- db stop || true
  rm -rf "$db_dir"
  [ "$status" -eq 0 ] || { echo "the .sqlx offline data is stale: run scripts/sqlx-prepare.sh"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
fi
[ -z "$check_db" ] || psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $check_db" >/dev/null 2>&1 || true
rm -rf "$sqlx_dir"
fi

step "build the site (cargo-leptos: server + hydrated WebAssembly, its crates linted by clippy)"
cargo leptos build

# The tests' embedded cluster (testkit::db) is kept running between their runs for developers;
# the test command stops it, so that a run leaves no PostgreSQL of its own behind.
if [ "$only" = all ] && [ -z "${DATABASE_URL:-}" ] && [ -d "$root/target/tmp/passerelle-test-data/postgres" ]; then
  PASSERELLE_DATA_DIR="$root/target/tmp/passerelle-test-data" DATABASE_URL= "$root/target/debug/passerelle" db stop >/dev/null 2>&1 \
    || echo "(the tests' embedded PostgreSQL could not be stopped: it is left running)"
fi

step "end-to-end tests in Chromium through a fleet of two instances (with a virtual card reader, the card agent and nginx)"
cargo build -q -p passerelle-agent -p testkit --bins
# One end-to-end run at a time on a machine: the ports, pcscd and its virtual reader are shared by
# every checkout (git worktrees included). The lock is released when this script ends.
exec 9>/tmp/passerelle-e2e.lock
flock 9
e2e_dir=$(mktemp -d /tmp/passerelle-e2e.XXXXXX) && chmod 711 "$e2e_dir"
port=3900 # the fleet's address; its instances listen on 3901 and 3902
# The portal's public address names a host, as in production: passkeys are scoped to a domain
# name (browsers refuse an IP address as their relying party), and `localhost` is one that
# browsers treat as secure over plain http. nginx listens on 127.0.0.1, where localhost resolves.
public="http://localhost:$port"
card_port=3943
portal_proxy_port=3908
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash "$root/scripts/tls-terminator.sh" stop "$e2e_dir/nginx" >/dev/null 2>&1 || true
  bash "$root/scripts/card-lab.sh" stop "$e2e_dir/card-lab" >/dev/null 2>&1 || true
  bash "$root/scripts/smtp-sink.sh" stop "$e2e_dir/smtp" >/dev/null 2>&1 || true
  bash "$root/scripts/psc-provider.sh" stop "$e2e_dir/psc" >/dev/null 2>&1 || true
  bash "$root/scripts/fleet.sh" stop "$e2e_dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# A real SMTP server (aiosmtpd, messages in a maildir the tests read).
bash "$root/scripts/smtp-sink.sh" start "$e2e_dir/smtp"
smtp_port=$(sed -n 's/^SMTP_PORT=//p' "$e2e_dir/smtp/env")
# A real OpenID provider configured like Pro Santé Connect (oidc-provider): the portal is its
# client `passerelle-jwt` (userinfo as a signed JWT; the JSON form is covered by the server's
# tests). The professionals' file is written by end2end/tests/psc.spec.ts.
echo '{}' > "$e2e_dir/psc-users.json"
PSC_REDIRECT_URIS="$public/connexion/psc/retour" \
  PSC_BACKCHANNEL_LOGOUT_URI="$public/connexion/psc/deconnexion" \
  PSC_POST_LOGOUT_REDIRECT_URIS="$public/connexion?info=deconnecte" \
  PSC_USERS_FILE="$e2e_dir/psc-users.json" bash "$root/scripts/psc-provider.sh" start "$e2e_dir/psc"
psc_issuer=$(sed -n 's/^PSC_ISSUER=//p' "$e2e_dir/psc/env")
psc_port=$(sed -n 's/^PSC_PORT=//p' "$e2e_dir/psc/env")
# The demo data, and an account created by an administrator, pending activation: its e-mail
# waits in the outbox until the server's worker sends it.
PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= "$root/target/debug/passerelle" demo seed >/dev/null
PASSERELLE_DATA_DIR="$e2e_dir" PASSERELLE_PUBLIC_URL="$public" DATABASE_URL= \
  "$root/target/debug/passerelle" user create --username nouveau.medecin --email nouveau.medecin@chu.example \
  --given-name Jean --family-name Nouveau --region FR-IDF --establishment 750712184 >/dev/null
# A professional whose account no other spec touches, for the Pro Santé Connect spec (national
# identifier 810000999994: no card, no PSC link yet).
printf '%s\n' 'Passerelle-Demo-2026' | PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= \
  "$root/target/debug/passerelle" user create --username psc.moreau --email louise.moreau@chu.example \
  --given-name Louise --family-name Moreau --region FR-IDF --rpps 10000999994 \
  --establishment 930004569 --password-stdin >/dev/null
# An account without an RPPS that needs the e-mail code, whose e-CPS identity the desk declared:
# linking it through PSC goes through the code (end2end/tests/linking-asks-as-much-as-sign-in.spec.ts).
printf '%s\n' 'Passerelle-Demo-2026' | PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= \
  "$root/target/debug/passerelle" user create --username psc.roux --email agnes.roux@chu.example \
  --given-name Agnès --family-name Roux --region FR-IDF --national-id 899700056783 --otp-required \
  --establishment 930004569 --password-stdin >/dev/null
# For end2end/tests/instance-killed.spec.ts (an instance of the fleet dies mid-flow), three
# professionals no other spec touches: one needing the e-mail code, one who adds a TIQR phone, one
# who links his Pro Santé Connect identity (national identifier 810000555556).
for who in "panne.code Paul Garnier --otp-required" "panne.tiqr Sophie Garnier" \
           "panne.psc Marc Garnier --rpps 10000555556"; do
  read -r username given family extra <<<"$who"
  # shellcheck disable=SC2086 # $extra: the options of this account, word by word
  printf '%s\n' 'Passerelle-Demo-2026' | PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= \
    "$root/target/debug/passerelle" user create --username "$username" --email "$username@chu.example" \
    --given-name "$given" --family-name "$family" --region FR-IDF --establishment 930004569 \
    $extra --password-stdin >/dev/null
done
# For end2end/tests/passkeys.spec.ts, a professional no other spec touches.
printf '%s\n' 'Passerelle-Demo-2026' | PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= \
  "$root/target/debug/passerelle" user create --username cle.fontaine --email camille.fontaine@chu.example \
  --given-name Camille --family-name Fontaine --region FR-IDF --establishment 930004569 \
  --password-stdin >/dev/null
# For end2end/tests/sign-in-policy.spec.ts, a desk agent who needs the e-mail code.
printf '%s\n' 'Passerelle-Demo-2026' | PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= \
  "$root/target/debug/passerelle" user create --username politique.garnier --email lea.garnier@ars.example \
  --given-name Léa --family-name Garnier --region FR-IDF --otp-required --role support \
  --password-stdin >/dev/null
# For end2end/tests/my-sign-ins.spec.ts, a professional no other spec touches.
printf '%s\n' 'Passerelle-Demo-2026' | PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= \
  "$root/target/debug/passerelle" user create --username sessions.lemaire --email paul.lemaire@chu.example \
  --given-name Paul --family-name Lemaire --region FR-IDF --establishment 930004569 \
  --password-stdin >/dev/null
# For end2end/tests/dormant-accounts.spec.ts, two professionals aged below (before the fleet
# starts: its daily job puts the first to sleep and warns the second).
for who in "sommeil.durand marc.durand Marc Durand" "sommeil.petit lucie.petit Lucie Petit"; do
  read -r username mailbox given family <<<"$who"
  printf '%s\n' 'Passerelle-Demo-2026' | PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= \
    "$root/target/debug/passerelle" user create --username "$username" --email "$mailbox@chu.example" \
    --given-name "$given" --family-name "$family" --region FR-IDF --establishment 930004569 \
    --password-stdin >/dev/null
done
# For end2end/tests/bulk-actions.spec.ts, three professionals no other spec touches.
for who in "groupe.arnaud paul.arnaud Paul Arnaud" "groupe.blanc ines.blanc Inès Blanc" \
           "groupe.colin claire.colin Claire Colin"; do
  read -r username mailbox given family <<<"$who"
  printf '%s\n' 'Passerelle-Demo-2026' | PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= \
    "$root/target/debug/passerelle" user create --username "$username" --email "$mailbox@chu.example" \
    --given-name "$given" --family-name "$family" --region FR-IDF --establishment 930004569 \
    --password-stdin >/dev/null
done
# For end2end/tests/sign-in-means.spec.ts, a professional no other spec touches, with a linked
# card, a Pro Santé Connect identity and a TIQR phone. The linking and enrolment flows have their
# own specs; these rows are what they leave behind, written here so that this spec depends only
# on "Mes moyens de connexion" and the console.
printf '%s\n' 'Passerelle-Demo-2026' | PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= \
  "$root/target/debug/passerelle" user create --username moyens.bernard --email anne.bernard@chu.example \
  --given-name Anne --family-name Bernard --region FR-IDF --rpps 10000777770 \
  --establishment 930004569 --password-stdin >/dev/null
means_db=$(PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= "$root/target/debug/passerelle" db start 2>/dev/null)
psql "$means_db" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO cards (id, user_id, national_id, card_type, issuer_dn, serial, subject_dn, holder_name,
                   fingerprint_sha256, not_before, not_after, linked_via, linked_at, last_used_at)
SELECT gen_random_uuid(), id, '810000777770', 'CPS', 'CN=TEST AC IGC-SANTE E2E', 'e2e0b1',
       'CN=ANNE BERNARD', 'ANNE BERNARD', repeat('ab', 32), now() - interval '30 days',
       now() + interval '3 years', 'password', now() - interval '10 days', now() - interval '1 day'
FROM users WHERE username = 'moyens.bernard';
INSERT INTO psc_identities (national_id, user_id, given_name, family_name, linked_at, last_used_at)
SELECT '810000777770', id, 'Anne', 'Bernard', now() - interval '2 days', now() - interval '2 days'
FROM users WHERE username = 'moyens.bernard';
INSERT INTO tiqr_enrollments (id, user_id, identity, name, secret_nonce, secret_sealed, created_at,
                              activated_at)
SELECT gen_random_uuid(), id, 'e2emoyensbernard000000000001', 'Téléphone du 01/12/2026',
       decode(repeat('07', 24), 'hex'), decode(repeat('09', 48), 'hex'), now() - interval '2 days',
       now() - interval '2 days'
FROM users WHERE username = 'moyens.bernard';
UPDATE users SET created_at = now() - interval '400 days', last_sign_in_at = now() - interval '400 days',
                 dormancy_warned_at = now() - interval '40 days'
WHERE username = 'sommeil.durand';
UPDATE users SET created_at = now() - interval '340 days' WHERE username = 'sommeil.petit';
SQL
PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL= "$root/target/debug/passerelle" db stop 2>/dev/null
# The test PKI (IGC-Santé-shaped CAs, CRL, holders' cards) and the card lab (private pcscd + vpcd).
"$root/target/debug/passerelle-test-pki" "$e2e_dir/pki" >/dev/null
# The national directory's extractions, generated in their published formats (no machine here
# reaches the real ones), in the folder both instances load from. Big enough (300 000 lines,
# about 80 MB) for the console's progress to show; dr.martin and helene.leclerc are in it under
# their names, inf.durand is not (the console lists his account as missing from it).
"$root/target/debug/passerelle-directory-files" "$e2e_dir/annuaire" --activities 300000 \
  --establishments 3000 --stamp 202612030415 \
  --person "10000123454:MARTIN:Claire:750712184" --person "10000345677:LECLERC:Hélène:690781810" \
  --person "10000777713:LE GOFF-HÉLIAS:Anne-Sophie:750712184" --person "10000777820:BERNARD:Lucie" \
  --site "750712184:Hôpital de la Pitié-Salpêtrière:75013:PARIS" \
  --site "690781810:Hôpital Édouard Herriot:69003:LYON" \
  --site "750009995:Clinique des Lilas:75020:PARIS" >/dev/null
bash "$root/scripts/card-lab.sh" start "$e2e_dir/card-lab"
(set -a; source "$e2e_dir/card-lab/env"; exec "$root/target/debug/passerelle-agent" \
  --origin "$public" > "$root/target/e2e-agent.log" 2>&1) &
pids+=($!)
# The portal runs as a fleet (scripts/fleet.sh): two instances over the one database, behind
# nginx on $port in round robin with no sticky sessions, so that every spec's flow crosses
# instances (a page served by one, its form posted to the other, the TIQR phone and the card
# agent on either). Started before the card host, whose terminator balances the same instances.
# Every browser of the run signs in from 127.0.0.1: the per-address limit (tested in the domain
# tests) would otherwise add up the failures of all the specs.
fleet_env=(PASSERELLE_PUBLIC_URL="$public"
  PASSERELLE_TRUSTED_PROXIES=127.0.0.2,127.0.0.3,127.0.0.4 PASSERELLE_CARD_TLS_PROXIES=127.0.0.2
  PASSERELLE_CARD_CA_BUNDLE="$e2e_dir/pki/ca-bundle.pem" PASSERELLE_CARD_CRL_FILES="$e2e_dir/pki/personnes.crl.pem"
  PASSERELLE_CARD_TLS_URL="https://127.0.0.1:$card_port"
  PASSERELLE_SMTP_HOST=127.0.0.1 PASSERELLE_SMTP_PORT="$smtp_port" PASSERELLE_SMTP_SECURITY=none
  PASSERELLE_OTP_CODE_SECONDS=20 PASSERELLE_ADDRESS_MAX_FAILURES=500
  PASSERELLE_PSC_ENABLED=true PASSERELLE_PSC_ISSUER="$psc_issuer" PASSERELLE_PSC_CLIENT_ID=passerelle-jwt
  PASSERELLE_PSC_CLIENT_SECRET=passerelle-secret PASSERELLE_PSC_CLIENT_AUTH=basic
  PASSERELLE_SITE_ROOT="$root/target/site" PASSERELLE_DIRECTORY_INBOX="$e2e_dir/annuaire"
  # The specs sign the demo's desk and administrators in with their password: the fleet accepts
  # it for every role. The policy's defaults run on an instance of their own (below).
  PASSERELLE_POLICY_SUPPORT=any PASSERELLE_POLICY_REGIONAL_ADMIN=any PASSERELLE_POLICY_NATIONAL_ADMIN=any)
env "${fleet_env[@]}" bash "$root/scripts/fleet.sh" start "$e2e_dir" 2 "$port" \
  || { echo "FAILED: the fleet did not start"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
fleet_ports=$((port + 1)),$((port + 2))
# One more instance over the same database with the sign-in policy's defaults (the desk and the
# administrators need a card, Pro Santé Connect, a passkey or TIQR) and a transition that accepts
# the password with the e-mailed code: end2end/tests/sign-in-policy.spec.ts. Published under the
# same host name (its passkeys are the fleet's), on its own port.
strict_port=3906
( source "$e2e_dir/fleet/settings"
  export PASSERELLE_LISTEN="127.0.0.1:$strict_port" PASSERELLE_PUBLIC_URL="http://localhost:$strict_port"
  unset PASSERELLE_POLICY_SUPPORT PASSERELLE_POLICY_REGIONAL_ADMIN PASSERELLE_POLICY_NATIONAL_ADMIN
  export PASSERELLE_POLICY_TRANSITION_UNTIL=2099-12-31
  exec setsid "$root/target/debug/passerelle" serve > "$e2e_dir/strict-instance.log" 2>&1 < /dev/null ) &
pids+=($!)
for _ in $(seq 240); do curl -sf "http://127.0.0.1:$strict_port/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$strict_port/readyz" >/dev/null \
  || { echo "FAILED: the strict instance did not start; its log:"; tail -n 40 "$e2e_dir/strict-instance.log"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
# nginx terminates TLS on the card host (scripts/tls-terminator.sh), plus an ordinary reverse
# proxy that passes client headers through, whose certificate header must not be believed.
bash "$root/scripts/tls-terminator.sh" start "$e2e_dir/nginx" "$e2e_dir/pki" "$card_port" "$fleet_ports" "$portal_proxy_port"
curl -skf "https://127.0.0.1:$card_port/healthz" >/dev/null || { cat "$e2e_dir/nginx/error.log"; exit 1; }
export PASSERELLE_E2E_PKI="$e2e_dir/pki" PASSERELLE_E2E_CARD_LAB="$e2e_dir/card-lab" \
  PASSERELLE_E2E_CARD_URL="https://127.0.0.1:$card_port" \
  PASSERELLE_E2E_PROXY_URL="http://127.0.0.1:$portal_proxy_port" \
  PASSERELLE_E2E_SMTP="$e2e_dir/smtp" \
  PASSERELLE_E2E_PSC_URL="http://127.0.0.1:$psc_port" PASSERELLE_E2E_PSC_USERS="$e2e_dir/psc-users.json" \
  PASSERELLE_E2E_FLEET="$e2e_dir" PASSERELLE_E2E_STRICT_URL="http://localhost:$strict_port"
log=$(mktemp)
set +e
(cd end2end && PASSERELLE_E2E_URL="$public" npx playwright test ${PASSERELLE_E2E_SPECS:-} 2>&1) | tee "$log"
status=${PIPESTATUS[0]}
set -e
count_playwright "$log" "$status"
# Both instances served the specs (the fleet's nginx logs the instance of each request last).
served=$(awk '{ print $NF }' "$e2e_dir/fleet/nginx-access.log" | tr ',' '\n' | grep -oE '127[.0-9]+:[0-9]+' | sort -u | wc -l)
if [ "$served" -ge 2 ]; then
  echo "the specs' requests were served by $served instances"; passed=$((passed + 1))
else
  echo "FAILED: only $served instance(s) served the specs' requests"; failed=$((failed + 1))
fi
if [ "$status" -ne 0 ]; then
  # The failures' browser side is printed by the specs (end2end/tests/fixtures.ts); the server's
  # side is here: its warnings and errors, each with its request id.
  for f in "$e2e_dir"/fleet/instance-*.log; do
    echo; echo "--- the warnings and errors of $(basename "$f" .log) during the run:"
    grep -aE 'WARN|ERROR|panicked' "$f" | tail -n 40 || true
  done
  echo "--- the card agent's last lines (target/e2e-agent.log):"
  tail -n 15 "$root/target/e2e-agent.log" || true
fi

step "audit chain of the end-to-end run: intact, then altered behind the application's back"
cleanup
trap - EXIT
passerelle=("$root/target/debug/passerelle")
export PASSERELLE_DATA_DIR="$e2e_dir" DATABASE_URL=
if out=$("${passerelle[@]}" audit verify 2>/dev/null) && [[ $out == OK* ]]; then
  echo "$out"; passed=$((passed + 1))
else
  echo "FAILED: audit verify on an intact log said: $out"; failed=$((failed + 1))
fi
url=$("${passerelle[@]}" db start 2>/dev/null)
row=$(psql "$url" -Atc "SELECT id FROM audit_log ORDER BY id OFFSET 5 LIMIT 1")
# A superuser bypassing the append-only triggers.
psql "$url" -q -c "SET session_replication_role = replica; UPDATE audit_log SET actor_label = 'falsifie' WHERE id = $row"
"${passerelle[@]}" db stop 2>/dev/null
if out=$("${passerelle[@]}" audit verify 2>/dev/null); then
  echo "FAILED: audit verify accepted an altered log: $out"; failed=$((failed + 1))
elif [[ $out == *"ligne $row"* ]]; then
  echo "$out"; passed=$((passed + 1))
else
  echo "FAILED: expected row $row to be named, got: $out"; failed=$((failed + 1))
fi
unset PASSERELLE_DATA_DIR
rm -rf "$e2e_dir"

step "the demo (scripts/run.sh): every sign-in mode through it, then Ctrl-C leaves nothing running"
# The README's run command, on ports of its own and a fresh data folder, serving the debug build
# just made. Started as a job of its own (set -m), so that a SIGINT to its process group is what
# Ctrl-C in a terminal sends.
demo_data=$(mktemp -d /tmp/passerelle-demo.XXXXXX) && chmod 711 "$demo_data"
demo_ports=(3910 3953 24251)
demo_log="$root/target/demo-run.log"
set -m
PASSERELLE_RUN_PROFILE=debug PASSERELLE_DATA_DIR="$demo_data" PASSERELLE_DEMO_PORT=${demo_ports[0]} \
  PASSERELLE_DEMO_CARD_PORT=${demo_ports[1]} PASSERELLE_DEMO_AGENT_PORT=${demo_ports[2]} \
  bash "$root/scripts/run.sh" > "$demo_log" 2>&1 &
demo=$!
set +m
for _ in $(seq 600); do
  grep -q "Sign in at" "$demo_log" && break
  kill -0 $demo 2>/dev/null || break
  sleep 0.5
done
if grep -q "Sign in at" "$demo_log"; then
  grep -a '\[demo\]' "$demo_log"
  psc_port=$(sed -n 's/^PSC_PORT=//p' "$demo_data/demo-services/run/psc/env" 2>/dev/null || true)
  log=$(mktemp)
  set +e
  (cd end2end && PASSERELLE_DEMO_URL="http://127.0.0.1:${demo_ports[0]}" \
    PASSERELLE_DEMO_CARD_URL="https://127.0.0.1:${demo_ports[1]}" \
    PASSERELLE_DEMO_PKI="$demo_data/demo-services/pki" \
    npx playwright test --config demo.config.ts 2>&1) | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  count_playwright "$log" "$status"
  if [ "$status" -ne 0 ]; then echo "--- the demo's output ($demo_log):"; tail -n 60 "$demo_log"; fi
else
  echo "FAILED: the demo did not start:"; tail -n 80 "$demo_log"; failed=$((failed + 1)); psc_port=
fi
# Ctrl-C, then nothing of the demo may be left: no listening port, no process of its folder.
kill -INT -- -$demo 2>/dev/null || true
for _ in $(seq 120); do kill -0 $demo 2>/dev/null || break; sleep 0.5; done
left=()
for port in "${demo_ports[@]}" $psc_port; do
  ss -Htln "sport = :$port" 2>/dev/null | grep -q . && left+=("port $port")
done
for pid in $(pgrep -f "$demo_data" || true); do left+=("$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"); done
if kill -0 $demo 2>/dev/null; then left+=("scripts/run.sh itself"); fi
if [ ${#left[@]} -eq 0 ]; then
  echo "Ctrl-C: the demo and its services stopped"; passed=$((passed + 1))
else
  echo "FAILED: after Ctrl-C, still running:"; printf '  %s\n' "${left[@]}"; failed=$((failed + 1))
  kill -KILL -- -$demo 2>/dev/null || true
  for pid in $(pgrep -f "$demo_data" || true); do kill -KILL "$pid" 2>/dev/null || true; done
fi
rm -rf "$demo_data"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
