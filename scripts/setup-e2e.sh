#!/usr/bin/env bash
# setup-e2e.sh installs the official openai npm client (pinned) into
# tools/e2e/node_modules for the end-to-end test of `kvpack serve`
# (internal/server TestOpenAIClientE2E runs tools/e2e/openai-e2e.mjs).
# Idempotent; fails loudly on any error.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/npm-pinned.sh" setup-e2e "$root/tools/e2e" openai 6.49.0
echo "setup-e2e: ok (node $(node --version))"
