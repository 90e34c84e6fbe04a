# Sourced by the other scripts: installs what is missing, then puts the tools on PATH.
# wasm-opt comes from npm's binaryen (end2end/node_modules/.bin); queries build from .sqlx/.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/install-tools.sh
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export SQLX_OFFLINE=true
