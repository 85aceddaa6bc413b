"""PyTorch reference for bench/train.sh: LlamaForCausalLM, fp32, eager, AdamW, 2 threads.

    python bench/train_torch.py CONFIG BATCH SEQ STEPS

Prints the same key=value lines as Lathe's bench-train: tokens/s over the steps after the
first, the loss of every step, peak RSS. The data is built the same way (each row repeats a
random 16-token phrase), from torch's own generator.
"""
import resource
import sys
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

PRESETS = {
    "tiny": dict(vocab_size=4096, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=1024),
    "small": dict(vocab_size=8192, hidden_size=512, intermediate_size=1376, num_hidden_layers=8,
                  num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=2048),
}


def main():
    name, batch, seq, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(2)
    torch.manual_seed(1)
    config = LlamaConfig(**PRESETS[name], rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                         attn_implementation="eager")
    model = LlamaForCausalLM(config).float().train()
    decay = [p for p in model.parameters() if p.dim() == 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(7)
    times, losses = [], []
    for _ in range(steps):
        phrase = torch.randint(0, config.vocab_size, (batch, 16), generator=gen)
        tokens = phrase.repeat(1, (seq + 15) // 16)[:, :seq].contiguous()
        start = time.perf_counter()
        out = model(input_ids=tokens, labels=tokens)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
        losses.append(out.loss.item())
    timed = times[1:]
    params = sum(p.numel() for p in model.parameters())
    for key, value in (("config", name), ("batch", batch), ("seq", seq), ("steps", steps), ("torch", torch.__version__)):
        print(f"{key}={value}")
    print(f"parameters={params}")
    print(f"tokens_per_second={batch * seq * len(timed) / sum(timed)}")
    print("losses=" + ",".join(f"{x:.6f}" for x in losses))
    print(f"peak_rss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}")


if __name__ == "__main__":
    main()
