#!/usr/bin/env bash
# setup-oracle.sh installs the llama.cpp oracle (node-llama-cpp, pinned) into
# tools/oracle/node_modules for internal/oracle and `kvpack bench`.
# Idempotent: exits early when the pinned version is installed and loads.
# Needs Node.js >= 20 and npm; fails loudly on any error.
set -euo pipefail

want=3.21.1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tools/oracle"

die() { echo "setup-oracle: ERROR: $*" >&2; exit 1; }

command -v node >/dev/null || die "node not found on PATH; install Node.js >= 20 (https://nodejs.org)"
command -v npm >/dev/null || die "npm not found on PATH; install npm (it ships with Node.js)"
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || die "node $(node --version) is too old; node-llama-cpp $want needs Node.js >= 20"
[ -f "$dir/package.json" ] || die "$dir/package.json missing"
cd "$dir"

# The manifest must pin the exact version, and the lock (when present) must agree.
lock_state="$(WANT="$want" node -e '
const fs = require("fs");
const want = process.env.WANT;
const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
if (pkg.dependencies?.["node-llama-cpp"] !== want) {
    console.error(`package.json must depend on node-llama-cpp exactly ${want}`);
    process.exit(2);
}
if (!fs.existsSync("package-lock.json")) { console.log("missing"); process.exit(0); }
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const root = lock.packages?.[""]?.dependencies?.["node-llama-cpp"];
const got = lock.packages?.["node_modules/node-llama-cpp"]?.version;
console.log(root === want && got === want ? "ok" : "stale");
')" || die "tools/oracle/package.json does not pin node-llama-cpp $want"

installed="$(node -p 'require("./node_modules/node-llama-cpp/package.json").version' 2>/dev/null || true)"
if [ "$installed" = "$want" ] && [ "$lock_state" = "ok" ]; then
    echo "setup-oracle: node-llama-cpp $want already installed in $dir"
else
    case "$lock_state" in
    ok)
        echo "setup-oracle: npm ci (node-llama-cpp $want from package-lock.json)"
        npm ci --no-audit --no-fund || die "npm ci failed in $dir"
        ;;
    *)
        echo "setup-oracle: package-lock.json is $lock_state; npm install -E node-llama-cpp@$want (review and commit the new lock)"
        npm install --save-exact --no-audit --no-fund "node-llama-cpp@$want" || die "npm install failed in $dir"
        ;;
    esac
    installed="$(node -p 'require("./node_modules/node-llama-cpp/package.json").version' 2>/dev/null || true)"
    [ "$installed" = "$want" ] || die "node-llama-cpp $want not installed after npm (found '${installed:-nothing}')"
fi

# Smoke test: the prebuilt CPU binary must load (oracle.mjs never builds from source).
check="$(node oracle.mjs --check)" || die "node-llama-cpp $want is installed but its llama.cpp CPU binary does not load (see above)"
echo "setup-oracle: ok (node $(node --version)): $check"
