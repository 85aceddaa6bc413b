#!/usr/bin/env python3
"""Writes fixtures/gguf/tiny-llama.gguf, a tiny random Llama in every tensor type Lathe reads,
and fixtures/gguf/tiny-llama.expected.json with the logits of a plain numpy forward over the
dequantised weights, computed the way llama.cpp reads the file (rotary pairs 2i, 2i+1 on the
stored, permuted Q/K rows). Lathe's test reads both without Python.

Run once by hand:  python3 -m venv /tmp/v && /tmp/v/bin/pip install gguf numpy
                   /tmp/v/bin/python scripts/make_gguf_fixture.py
"""
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize, quantize

from gguf_reference import llama_forward

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "gguf")
C, I, L, NH, NKV, CTX, THETA, EPS = 64, 256, 2, 4, 2, 64, 10000.0, 1e-5
HS = C // NH
rng = np.random.default_rng(7)


def byte_level_alphabet():
    """GPT-2's byte → printable character map, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


alphabet = byte_level_alphabet()
merges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d", "1 2"]
tokens = alphabet + ["".join(m.split(" ")) for m in merges] + ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
types = [1] * (len(tokens) - 3) + [3, 3, 3]
V = len(tokens)


def random_kquant(rows, cols, qtype):
    """Random blocks of a k-quant (gguf-py cannot quantise them): random quants and scales, small f16 d."""
    block_bytes = {Q.Q4_K: 144, Q.Q6_K: 210}[qtype]
    blocks = rng.integers(0, 256, size=(rows, cols // 256, block_bytes), dtype=np.uint8)
    if qtype == Q.Q4_K:
        blocks[:, :, 0:2] = np.frombuffer(np.float16(0.0015).tobytes(), np.uint8)
        blocks[:, :, 2:4] = np.frombuffer(np.float16(0.001).tobytes(), np.uint8)
    else:
        blocks[:, :, 192:208] = rng.integers(-20, 21, size=(rows, cols // 256, 16)).astype(np.int8).view(np.uint8)
        blocks[:, :, 208:210] = np.frombuffer(np.float16(0.002).tobytes(), np.uint8)
    return blocks.reshape(rows, -1)


def encode(values, qtype):
    if qtype == Q.F32:
        return values.astype(np.float32)
    if qtype == Q.F16:
        return values.astype(np.float16)
    return quantize(values.astype(np.float32), qtype)


# (name, rows, cols, type); rows·cols is the HF (out, in) shape
plan = [("token_embd.weight", V, C, Q.Q8_0)]
layer_types = [
    dict(attn_q=Q.F16, attn_k=Q.BF16, attn_v=Q.Q4_0, attn_output=Q.Q4_1, ffn_gate=Q.Q8_0, ffn_up=Q.F16, ffn_down=Q.Q4_K),
    dict(attn_q=Q.Q4_0, attn_k=Q.Q8_0, attn_v=Q.F32, attn_output=Q.BF16, ffn_gate=Q.Q4_1, ffn_up=Q.Q4_0, ffn_down=Q.Q6_K),
]
shapes = dict(attn_q=(NH * HS, C), attn_k=(NKV * HS, C), attn_v=(NKV * HS, C), attn_output=(C, NH * HS),
              ffn_gate=(I, C), ffn_up=(I, C), ffn_down=(C, I))
for l in range(L):
    plan.append((f"blk.{l}.attn_norm.weight", None, C, Q.F32))
    for key, qtype in layer_types[l].items():
        plan.append((f"blk.{l}.{key}.weight", *shapes[key], qtype))
    plan.append((f"blk.{l}.ffn_norm.weight", None, C, Q.F32))
plan += [("output_norm.weight", None, C, Q.F32), ("output.weight", V, C, Q.F16)]

writer = gguf.GGUFWriter(os.path.join(OUT, "tiny-llama.gguf"), "llama")
writer.add_name("lathe tiny random llama")
writer.add_context_length(CTX)
writer.add_embedding_length(C)
writer.add_block_count(L)
writer.add_feed_forward_length(I)
writer.add_head_count(NH)
writer.add_head_count_kv(NKV)
writer.add_rope_dimension_count(HS)
writer.add_rope_freq_base(THETA)
writer.add_layer_norm_rms_eps(EPS)
writer.add_vocab_size(V)
writer.add_tokenizer_model("gpt2")
writer.add_tokenizer_pre("smollm")
writer.add_token_list(tokens)
writer.add_token_types(types)
writer.add_token_merges(merges)
writer.add_bos_token_id(V - 3)
writer.add_eos_token_id(V - 1)
writer.add_add_bos_token(False)
writer.add_chat_template("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}")

weights, first_blocks = {}, {}
for name, rows, cols, qtype in plan:
    if rows is None:
        values = (1 + 0.2 * rng.standard_normal(cols)).astype(np.float32)
        writer.add_tensor(name, values)
        weights[name] = values.astype(np.float64)
        continue
    if qtype in (Q.Q4_K, Q.Q6_K):
        data = random_kquant(rows, cols, qtype)
    else:
        data = encode(0.3 * rng.standard_normal((rows, cols)), qtype)
    if qtype in (Q.F32, Q.F16):
        writer.add_tensor(name, data)
    else:
        writer.add_tensor(name, data, raw_dtype=qtype)
    deq = dequantize(data, qtype).reshape(rows, cols).astype(np.float64) if qtype not in (Q.F32, Q.F16) \
        else data.astype(np.float64)
    weights[name] = deq
    first_blocks.setdefault(qtype.name, {"tensor": name, "values": [float(x) for x in deq.reshape(-1)[:256]]})
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()


ids = [258, 5, 200, 71, 33, 264, 100, 7, 12, 150]
logits = llama_forward(weights, ids, layers=L, heads=NH, kv_heads=NKV, theta=THETA, eps=EPS)
with open(os.path.join(OUT, "tiny-llama.expected.json"), "w") as f:
    json.dump({"tokens": ids, "vocab": V, "logits": [[float("%.7g" % v) for v in row] for row in logits],
               "first_block": first_blocks}, f)
    f.write("\n")
print("wrote", V, "vocab;", os.path.getsize(os.path.join(OUT, "tiny-llama.gguf")), "bytes")
