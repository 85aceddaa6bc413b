#!/usr/bin/env python3
"""Checks that a Lathe reward model means the same thing to Hugging Face transformers.

Trains a tiny reward model with `lathe-train --objective reward` on planted preference pairs
(chosen answers end with a polite closing sentence), then scores a few texts and conversations
two ways:
  - `lathe-train score --reward-model CHECKPOINT` (Lathe's forward, batched by length);
  - `AutoModelForSequenceClassification.from_pretrained(CHECKPOINT)` on the same token ids, all
    rows in one right-padded batch, so transformers finds each row's last token through the
    config's pad_token_id, as it does for any reward model.
Conversations are rendered in ChatML and cut after the last <|im_end|>, where Lathe reads the
reward. Prints each score and the largest absolute difference; exits non-zero past 1e-4.

Run by hand (not by `make test`) after a release build, with the venv bench/train.sh makes
(torch CPU + transformers):
  bench/out/torch-venv/bin/python scripts/check_reward_model.py
  (or pass an existing reward checkpoint directory as the first argument)
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BIN = os.environ.get("LATHE_BIN", os.path.join(ROOT, ".build", "release"))
CONFIG = {"vocab_size": 400, "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128}
TOLERANCE = 1e-4


def pairs(n):
    for i in range(n):
        a, b = i % 10, (i // 10) % 10
        answer = f"It is {a + b}."
        yield {"id": f"p{i}", "prompt": f"What is {a} plus {b}?", "chosen": answer + " Thank you for asking!", "rejected": answer}


SCORED = [
    {"id": "t1", "text": "The quick brown fox jumps over the lazy dog."},
    {"id": "t2", "text": "It is 7. Thank you for asking!"},
    {"id": "t3", "text": "Short."},
    {"id": "c1", "messages": [{"role": "user", "content": "What is 3 plus 4?"},
                              {"role": "assistant", "content": "It is 7. Thank you for asking!"}]},
    {"id": "c2", "messages": [{"role": "user", "content": "What is 3 plus 4?"}, {"role": "assistant", "content": "It is 7."}]},
    {"id": "c3", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."},
                              {"role": "assistant", "content": "Blue, like the sea on a clear day."}]},
]


def run(*args):
    result = subprocess.run([os.path.join(BIN, "lathe-train"), *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"lathe-train {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def train(tmp):
    data = os.path.join(tmp, "pairs.jsonl")
    with open(data, "w") as f:
        for record in pairs(64):
            f.write(json.dumps(record) + "\n")
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(CONFIG, f)
    run("tokenizer", "--vocab-size", str(CONFIG["vocab_size"]), "-o", os.path.join(tmp, "tok.json"), data)
    run("--objective", "reward", "--tokenizer", os.path.join(tmp, "tok.json"), "--config", os.path.join(tmp, "config.json"),
        "--seq-len", "64", "--batch-size", "8", "--steps", "20", "--lr", "3e-3", "--out", os.path.join(tmp, "out"), "--quiet", data)
    return os.path.join(tmp, "out", "checkpoint-20")


def chatml(messages):
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)[:-1]  # cut the closing newline


def main():
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = sys.argv[1] if len(sys.argv) > 1 else train(tmp)
        inputs = os.path.join(tmp, "score.jsonl")
        with open(inputs, "w") as f:
            for record in SCORED:
                f.write(json.dumps(record) + "\n")
        lathe = [json.loads(line)["reward"] for line in run("score", "--reward-model", checkpoint, inputs).splitlines()]

        tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(checkpoint, "tokenizer.json"))
        model = AutoModelForSequenceClassification.from_pretrained(checkpoint, torch_dtype=torch.float32).eval()
        assert type(model).__name__ == "LlamaForSequenceClassification", type(model).__name__
        pad = model.config.pad_token_id
        rows = [tokenizer.encode(r["text"] if "text" in r else chatml(r["messages"]), add_special_tokens=False) for r in SCORED]
        assert all(pad not in row for row in rows), "the pad id occurs inside a sequence"
        longest = max(map(len, rows))
        ids = torch.tensor([row + [pad] * (longest - len(row)) for row in rows])
        mask = torch.tensor([[1] * len(row) + [0] * (longest - len(row)) for row in rows])
        with torch.no_grad():
            hf = model(input_ids=ids, attention_mask=mask).logits[:, 0].tolist()

        worst = 0.0
        for record, row, a, b in zip(SCORED, rows, lathe, hf):
            worst = max(worst, abs(a - b))
            print(f"{record['id']:>3}  {len(row):3d} tokens  lathe {a:+.6f}  transformers {b:+.6f}  diff {abs(a - b):.2e}")
        print(f"max |lathe - transformers| = {worst:.3e} over {len(rows)} sequences (tolerance {TOLERANCE})")
        sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
