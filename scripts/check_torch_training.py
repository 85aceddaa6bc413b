#!/usr/bin/env python3
"""Checks that `lathe-train` takes the same optimizer steps as PyTorch from the same start.

Both sides start from one checkpoint and train on one batch: the documents are tokenised into
exactly --batch-size windows of --seq-len tokens, so every step of an epoch uses all of them
and the data order cannot differ. Lathe runs `lathe-train --init START`; PyTorch loads START with
`LlamaForCausalLM` (fp32) and runs torch.optim.AdamW with Lathe's settings: betas (0.9, 0.95),
eps 1e-8, decoupled weight decay on matrices only, the global gradient norm clipped to 1.0,
a constant learning rate. The start is a checkpoint written by a one-step run at lr 1e-30,
which leaves every weight where the seed put it (the update is far below one ulp).
Prints both loss curves and the largest relative difference per step, and exits non-zero past
the tolerance (float summation order differs, so the curves drift apart slowly).

Run by hand (not by `make test`) after a release build, with the venv bench/train.sh makes:
  bench/out/torch-venv/bin/python scripts/check_torch_training.py
"""
import json
import os
import random
import subprocess
import sys
import tempfile

import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BIN = os.environ.get("LATHE_BIN", os.path.join(ROOT, ".build", "release"))
SEQ_LEN, STEPS, LR, TOLERANCE = 64, 30, 2e-3, 1e-4
CONFIG = {"vocab_size": 512, "hidden_size": 128, "intermediate_size": 344, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 2 * SEQ_LEN}


def run(*args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr}")
    return result


def main():
    torch.set_num_threads(2)
    rng = random.Random(11)
    words = ["river", "bread", "lathe", "model", "tokens", "stone", "bridge", "market", "winter", "garden",
             "the", "a", "of", "and", "to", "is", "was", "every", "morning", "quietly"]
    docs = [" ".join(rng.choice(words) for _ in range(rng.randint(20, 60))).capitalize() + "." for _ in range(60)]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "docs.jsonl")
        with open(corpus, "w") as f:
            for i, doc in enumerate(docs):
                f.write(json.dumps({"id": f"d{i}", "text": doc}) + "\n")
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(CONFIG, f)
        tok_path = os.path.join(tmp, "tok.json")
        run(f"{BIN}/lathe-train", "tokenizer", "--vocab-size", "512", "-o", tok_path, corpus, "--quiet")
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=tok_path)
        eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
        stream = []
        for doc in docs:
            stream += tokenizer.encode(doc, add_special_tokens=False) + [eot]
        windows = (len(stream) - 1) // SEQ_LEN
        batch = torch.tensor([stream[k * SEQ_LEN:(k + 1) * SEQ_LEN + 1] for k in range(windows)])

        common = ["--tokenizer", tok_path, "--seq-len", str(SEQ_LEN), "--batch-size", str(windows), "--weight-decay", "0.1",
                  "--clip", "1.0", "--schedule", "constant", "--warmup", "0", "--jobs", "2", "--quiet", corpus]
        run(f"{BIN}/lathe-train", "--config", os.path.join(tmp, "config.json"), "--steps", "1", "--lr", "1e-30",
            "--out", os.path.join(tmp, "start"), *common)
        start = os.path.join(tmp, "start", "checkpoint-1")
        log = os.path.join(tmp, "log.jsonl")
        run(f"{BIN}/lathe-train", "--init", start, "--steps", str(STEPS), "--lr", str(LR), "--out", os.path.join(tmp, "run"),
            "--log", log, *common)
        lathe = [json.loads(line)["loss"] for line in open(log)]

        model = LlamaForCausalLM.from_pretrained(start, torch_dtype=torch.float32, attn_implementation="eager")
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                      lr=LR, betas=(0.9, 0.95), eps=1e-8)
        torch_losses = []
        for _ in range(STEPS):
            optimizer.zero_grad()
            loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            torch_losses.append(loss.item())

    print(f"{windows} windows of {SEQ_LEN} tokens, {STEPS} steps at lr {LR}")
    print("step   lathe      torch      rel diff")
    worst = 0.0
    for step, (a, b) in enumerate(zip(lathe, torch_losses), 1):
        rel = abs(a - b) / abs(b)
        worst = max(worst, rel)
        print(f"{step:4d}   {a:.6f}   {b:.6f}   {rel:.2e}")
    print(f"largest relative difference {worst:.2e} (tolerance {TOLERANCE:g})")
    sys.exit(0 if worst <= TOLERANCE and len(lathe) == STEPS else 1)


if __name__ == "__main__":
    main()
