#!/usr/bin/env bash
# setup-e2e.sh installs the official openai npm client (pinned) into
# tools/e2e/node_modules for the end-to-end test of `kvpack serve`
# (internal/server TestOpenAIClientE2E runs tools/e2e/openai-e2e.mjs).
# Idempotent: exits early when the pinned version is installed.
# Needs Node.js >= 20 and npm; fails loudly on any error.
set -euo pipefail

want=6.49.0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tools/e2e"

die() { echo "setup-e2e: ERROR: $*" >&2; exit 1; }

command -v node >/dev/null || die "node not found on PATH; install Node.js >= 20 (https://nodejs.org)"
command -v npm >/dev/null || die "npm not found on PATH; install npm (it ships with Node.js)"
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || die "node $(node --version) is too old; the e2e test needs Node.js >= 20"
[ -f "$dir/package.json" ] || die "$dir/package.json missing"
cd "$dir"

# The manifest must pin the exact version, and the lock (when present) must agree.
lock_state="$(WANT="$want" node -e '
const fs = require("fs");
const want = process.env.WANT;
const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
if (pkg.dependencies?.openai !== want) {
    console.error(`package.json must depend on openai exactly ${want}`);
    process.exit(2);
}
if (!fs.existsSync("package-lock.json")) { console.log("missing"); process.exit(0); }
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const root = lock.packages?.[""]?.dependencies?.openai;
const got = lock.packages?.["node_modules/openai"]?.version;
console.log(root === want && got === want ? "ok" : "stale");
')" || die "tools/e2e/package.json does not pin openai $want"

installed="$(node -p 'require("./node_modules/openai/package.json").version' 2>/dev/null || true)"
if [ "$installed" = "$want" ] && [ "$lock_state" = "ok" ]; then
    echo "setup-e2e: openai $want already installed in $dir"
    exit 0
fi
case "$lock_state" in
ok)
    echo "setup-e2e: npm ci (openai $want from package-lock.json)"
    npm ci --no-audit --no-fund || die "npm ci failed in $dir"
    ;;
*)
    echo "setup-e2e: package-lock.json is $lock_state; npm install -E openai@$want (review and commit the new lock)"
    npm install --save-exact --no-audit --no-fund "openai@$want" || die "npm install failed in $dir"
    ;;
esac
installed="$(node -p 'require("./node_modules/openai/package.json").version' 2>/dev/null || true)"
[ "$installed" = "$want" ] || die "openai $want not installed after npm (found '${installed:-nothing}')"
echo "setup-e2e: ok (node $(node --version), openai $installed)"
