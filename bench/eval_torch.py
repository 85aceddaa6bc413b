"""PyTorch reference for bench/eval.sh: the log-probabilities of the same tokens under the same
checkpoint with transformers' LlamaForCausalLM, fp32, 2 threads, batches of 8, as a user scoring
with it would compute them (full logits, log_softmax, gather).

    python bench/eval_torch.py OUT   # reads OUT/model and OUT/tokens.json

Prints key=value lines: tokens/s over every batch after a warm-up one, and Σ log p per sequence.
"""
import json
import sys
import time

import torch
from transformers import LlamaForCausalLM


def main():
    out = sys.argv[1]
    torch.set_num_threads(2)
    try:
        model = LlamaForCausalLM.from_pretrained(f"{out}/model", dtype=torch.float32)
    except TypeError:
        model = LlamaForCausalLM.from_pretrained(f"{out}/model", torch_dtype=torch.float32)
    model.eval()
    rows = torch.tensor(json.load(open(f"{out}/tokens.json")), dtype=torch.long)
    batch = 8

    def score(x):
        logits = model(input_ids=x[:, :-1]).logits
        return torch.log_softmax(logits, dim=-1).gather(-1, x[:, 1:, None])[..., 0].double().sum(-1)

    with torch.inference_mode():
        score(rows[:batch])
        start = time.perf_counter()
        sums = torch.cat([score(rows[i:i + batch]) for i in range(0, len(rows), batch)])
        seconds = time.perf_counter() - start
    print(f"torch={torch.__version__}")
    print(f"attention={model.config._attn_implementation}")
    print(f"tokens_per_second={rows.shape[0] * (rows.shape[1] - 1) / seconds}")
    print("logp=" + ",".join(str(float(s)) for s in sums))


if __name__ == "__main__":
    main()
