#!/usr/bin/env bash
# setup-oracle.sh installs the llama.cpp oracle (node-llama-cpp, pinned) into
# tools/oracle/node_modules for internal/oracle and `kvpack bench`, then checks
# that its prebuilt llama.cpp CPU binary loads (oracle.mjs never builds from
# source). Idempotent; fails loudly on any error.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/npm-pinned.sh" setup-oracle "$root/tools/oracle" node-llama-cpp 3.21.1
cd "$root/tools/oracle"
check="$(node oracle.mjs --check)" || { echo "setup-oracle: ERROR: node-llama-cpp is installed but its llama.cpp CPU binary does not load (see above)" >&2; exit 1; }
echo "setup-oracle: ok (node $(node --version)): $check"
