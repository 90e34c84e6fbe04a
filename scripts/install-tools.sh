#!/usr/bin/env bash
# Installs, idempotently, every tool the build and the tests need on a Debian machine that has
# only the Rust toolchain, Node/npm and the PostgreSQL server package. A tool already present at
# the right version costs nothing. Nothing is downloaded outside Debian, crates.io and npm:
# cargo-leptos would otherwise fetch wasm-bindgen/wasm-opt from GitHub, so both are put on PATH.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
CARGO_LEPTOS_VERSION=0.3.11
# Must equal the wasm-bindgen version in Cargo.lock (pinned with `=` in Cargo.toml).
WASM_BINDGEN_VERSION=0.2.130
SQLX_CLI_VERSION=0.9.0

log() { printf '\033[1m[install]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages -------------------------------------------------------------------------
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v curl >/dev/null || need_apt+=(curl)
# Card sign-in tests: the PC/SC daemon with the vpcd virtual reader driver, the pcsc-lite headers for
# the agent, and nginx as the TLS terminator that verifies client certificates.
command -v pcscd >/dev/null || need_apt+=(pcscd)
[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || need_apt+=(vsmartcard-vpcd)
[ -e /usr/include/PCSC/winscard.h ] || need_apt+=(libpcsclite-dev)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
# The test PKI is made with openssl; the labs look for free ports with ss.
command -v openssl >/dev/null || need_apt+=(openssl)
command -v ss >/dev/null || need_apt+=(iproute2)
# E-mail tests: a real SMTP server (aiosmtpd) receiving on loopback.
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need_apt+=(python3-aiosmtpd)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

# --- Rust targets and cargo tools ------------------------------------------------------------
export PATH="$HOME/.cargo/bin:$PATH"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# A fast, lean release profile for installing tools on 2 cores.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

# Installs crate $1 at version $2 from crates.io, after pinning one dependency ($3 to $4) in its
# lock file: the published locks of these tools ask for crates this Rust (or this registry)
# cannot provide, so `cargo install --locked` fails and a plain install resolves too new.
install_pinned() {
  local crate=$1 version=$2 dep=$3 dep_version=$4
  local src
  src=$(ls -d "$HOME"/.cargo/registry/src/*/"$crate-$version" 2>/dev/null | head -n1 || true)
  if [ -z "$src" ]; then
    # `cargo install` downloads and unpacks the source even when it then fails to build it.
    cargo install "$crate" --version "$version" --locked --no-track --root "$(mktemp -d)" >/dev/null 2>&1 || true
    src=$(ls -d "$HOME"/.cargo/registry/src/*/"$crate-$version" | head -n1)
  fi
  local work
  work=$(mktemp -d)
  cp -r "$src" "$work/src"
  rm -f "$work/src/rust-toolchain.toml" "$work/src/rust-toolchain"
  (cd "$work/src" && cargo update -p "$dep" --precise "$dep_version" && cargo install --path . --locked --force)
  rm -rf "$work"
}

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes on 2 cores)"
  install_pinned cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  install_pinned wasm-bindgen-cli "$WASM_BINDGEN_VERSION" webpki-roots 1.0.10
fi
if ! sqlx --version 2>/dev/null | grep -q "$SQLX_CLI_VERSION"; then
  log "sqlx-cli $SQLX_CLI_VERSION"
  cargo install sqlx-cli --version "$SQLX_CLI_VERSION" --no-default-features --features postgres,rustls --locked
fi

# --- npm: Playwright, wasm-opt (binaryen from npm; Debian's 108 breaks hydration), and
# oidc-provider + jose for the Pro Santé Connect test provider (end2end/psc-provider) ---------
if [ ! -x "$root/end2end/node_modules/.bin/wasm-opt" ] || [ ! -d "$root/end2end/node_modules/@playwright/test" ] \
   || [ ! -d "$root/end2end/node_modules/oidc-provider" ] || [ ! -d "$root/end2end/node_modules/jose" ] \
   || [ "$root/end2end/package-lock.json" -nt "$root/end2end/node_modules/.package-lock.json" ]; then
  log "npm ci (end2end)"
  (cd "$root/end2end" && npm ci --no-audit --no-fund --loglevel=error)
fi
log "tools ready"
