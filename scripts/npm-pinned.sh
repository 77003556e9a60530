#!/usr/bin/env bash
# npm-pinned.sh NAME DIR PACKAGE VERSION installs PACKAGE@VERSION (exact) into
# DIR/node_modules from DIR's package.json and package-lock.json. Shared by
# setup-oracle.sh and setup-e2e.sh. Idempotent: does nothing when the pinned
# version is installed and the lock agrees. Needs Node.js >= 20 and npm;
# fails loudly (prefixed with NAME) on any error.
set -euo pipefail

name="$1" dir="$2" pkg="$3" want="$4"
die() { echo "$name: ERROR: $*" >&2; exit 1; }

command -v node >/dev/null || die "node not found on PATH; install Node.js >= 20 (https://nodejs.org)"
command -v npm >/dev/null || die "npm not found on PATH; install npm (it ships with Node.js)"
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || die "node $(node --version) is too old; $pkg $want needs Node.js >= 20"
[ -f "$dir/package.json" ] || die "$dir/package.json missing"
cd "$dir"

# The manifest must pin the exact version, and the lock (when present) must agree.
lock_state="$(PKG="$pkg" WANT="$want" node -e '
const fs = require("fs");
const { PKG: pkg, WANT: want } = process.env;
const manifest = JSON.parse(fs.readFileSync("package.json", "utf8"));
if (manifest.dependencies?.[pkg] !== want) {
    console.error(`package.json must depend on ${pkg} exactly ${want}`);
    process.exit(2);
}
if (!fs.existsSync("package-lock.json")) { console.log("missing"); process.exit(0); }
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const root = lock.packages?.[""]?.dependencies?.[pkg];
const got = lock.packages?.[`node_modules/${pkg}`]?.version;
console.log(root === want && got === want ? "ok" : "stale");
')" || die "$dir/package.json does not pin $pkg $want"

version() { node -p "require('./node_modules/$pkg/package.json').version" 2>/dev/null || true; }
if [ "$(version)" = "$want" ] && [ "$lock_state" = "ok" ]; then
    echo "$name: $pkg $want already installed in $dir"
    exit 0
fi
case "$lock_state" in
ok)
    echo "$name: npm ci ($pkg $want from package-lock.json)"
    npm ci --no-audit --no-fund || die "npm ci failed in $dir"
    ;;
*)
    echo "$name: package-lock.json is $lock_state; npm install -E $pkg@$want (review and commit the new lock)"
    npm install --save-exact --no-audit --no-fund "$pkg@$want" || die "npm install failed in $dir"
    ;;
esac
installed="$(version)"
[ "$installed" = "$want" ] || die "$pkg $want not installed after npm (found '${installed:-nothing}')"
