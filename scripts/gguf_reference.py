"""A plain numpy Llama forward that reads GGUF weights the way llama.cpp does: rotary pairs
(2i, 2i+1) applied to the stored (permuted) Q/K rows. Shared by make_gguf_fixture.py and
check_gguf_model.py; weights are a dict of GGUF tensor names to (out, in) arrays, and the
arithmetic follows their dtype."""
import numpy as np


def llama_forward(W, ids, *, layers, heads, kv_heads, theta, eps):
    emb = W["token_embd.weight"]
    dtype = emb.dtype
    c = emb.shape[1]
    hs = c // heads
    head = W.get("output.weight", emb)
    t = len(ids)
    freqs = theta ** (-np.arange(0, hs, 2, dtype=np.float64) / hs)
    angle = np.arange(t)[:, None] * freqs[None, :]
    cos, sin = np.cos(angle)[:, None, :].astype(dtype), np.sin(angle)[:, None, :].astype(dtype)
    mask = np.triu(np.full((t, t), -np.inf, dtype=dtype), 1)

    def rmsnorm(x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w

    def rope(x, n):
        x = x.reshape(t, n, hs // 2, 2)
        a, b = x[..., 0], x[..., 1]
        return np.stack([a * cos - b * sin, b * cos + a * sin], -1).reshape(t, n, hs)

    x = emb[np.asarray(ids)]
    for l in range(layers):
        p = f"blk.{l}."
        h = rmsnorm(x, W[p + "attn_norm.weight"])
        q = rope(h @ W[p + "attn_q.weight"].T, heads)
        k = rope(h @ W[p + "attn_k.weight"].T, kv_heads)
        v = (h @ W[p + "attn_v.weight"].T).reshape(t, kv_heads, hs)
        out = np.empty((t, heads, hs), dtype=dtype)
        for hd in range(heads):
            kv = hd // (heads // kv_heads)
            s = q[:, hd] @ k[:, kv].T / dtype.type(np.sqrt(hs)) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            out[:, hd] = (s / s.sum(-1, keepdims=True)) @ v[:, kv]
        x = x + out.reshape(t, heads * hs) @ W[p + "attn_output.weight"].T
        h = rmsnorm(x, W[p + "ffn_norm.weight"])
        g = h @ W[p + "ffn_gate.weight"].T
        x = x + (g / (1 + np.exp(-g)) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
    return rmsnorm(x, W["output_norm.weight"]) @ head.T
