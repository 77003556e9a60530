#!/usr/bin/env python3
"""Hugging Face `tokenizers` as the oracle for ConfigFromHF.

Usage: python3 tok_hf_oracle.py TOKENIZER_DIR < request.json > response.json
Request: {"texts": ["...", ...]}
Response: {"results": [{"text", "ids", "idsSpecial", "decoded"}, ...]}
  ids        = encode(text, add_special_tokens=False)
  idsSpecial = encode(text, add_special_tokens=True)  (post-processor: BOS/EOS)
  decoded    = decode(ids, skip_special_tokens=False)
Needs `pip install tokenizers` (not a kvpack dependency; only for regenerating
testdata/*.hf-golden.json).
"""
import json
import os
import sys

from tokenizers import Tokenizer


def main():
    tok = Tokenizer.from_file(os.path.join(sys.argv[1], "tokenizer.json"))
    req = json.load(sys.stdin)
    results = []
    for text in req["texts"]:
        ids = tok.encode(text, add_special_tokens=False).ids
        results.append({
            "text": text,
            "ids": ids,
            "idsSpecial": tok.encode(text, add_special_tokens=True).ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
        })
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
