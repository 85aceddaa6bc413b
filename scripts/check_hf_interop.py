#!/usr/bin/env python3
"""Checks that a Lathe checkpoint means the same thing to Hugging Face transformers.

Trains a tiny model for a few steps with `lathe-train` (a tokenizer learnt from the fixture
documents, then pretraining on them), loads the checkpoint with `LlamaForCausalLM` and
`PreTrainedTokenizerFast`, and compares, document by document:
  - tokenisation: the decoded ids give the text back, and transformers' token count equals the
    one Lathe scored (recovered from lathe-eval's perplexity and bits per byte:
    tokens = bits_per_byte * ln 2 * bytes / ln perplexity);
  - perplexity: transformers' exp(mean next-token NLL) against `lathe-eval --data doc.jsonl`
    (one file per document; each document is shorter than --seq-len, so one window each, with
    end of text before the first token as lathe-eval does).
Prints the largest relative difference of each and exits non-zero past the tolerance.

Run by hand (not by `make test`), after a release build (`swift build -c release`), with the venv
bench/train.sh makes (torch CPU + transformers):
  bench/out/torch-venv/bin/python scripts/check_hf_interop.py
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BIN = os.environ.get("LATHE_BIN", os.path.join(ROOT, ".build", "release"))
SEQ_LEN = 128
CONFIG = {"vocab_size": 512, "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": SEQ_LEN}
EXTRA = [
    "The café sold 1,234 croissants at $3.50 each — what's the total?",
    "Zürich, São Paulo and Kraków are cities; 東京 is Tokyo.  Tabs\tand\nnewlines stay.",
    "def add(a, b):\n    return a + b  # emoji 🙂 too",
]


def run(args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr}")
    return result


def main():
    work = tempfile.mkdtemp(prefix="lathe-hf-")
    texts = [json.loads(line)["text"] for line in open(os.path.join(ROOT, "fixtures/records/document.jsonl"))]
    texts += EXTRA
    docs = os.path.join(work, "docs.jsonl")
    with open(docs, "w") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"id": f"d{i}", "text": text, "source": "check"}) + "\n")
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump(CONFIG, f)

    tok = os.path.join(work, "tok.json")
    run([f"{BIN}/lathe-train", "tokenizer", "--vocab-size", str(CONFIG["vocab_size"]), "-o", tok, docs])
    run([f"{BIN}/lathe-train", "--tokenizer", tok, "--config", os.path.join(work, "config.json"), "--seq-len", "32",
         "--batch-size", "4", "--steps", "30", "--lr", "3e-3", "--seed", "3", "--out", os.path.join(work, "out"), docs])
    checkpoint = os.path.join(work, "out", "checkpoint-30")

    torch.set_num_threads(2)
    model = LlamaForCausalLM.from_pretrained(checkpoint, torch_dtype=torch.float32).eval()
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(checkpoint, "tokenizer.json"))
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert eot is not None and eot != tokenizer.unk_token_id, "no <|endoftext|> in the checkpoint's tokenizer"

    worst_ppl = worst_count = 0.0
    round_trips = 0
    print(f"{'doc':>4} {'tokens hf':>9} {'lathe':>7} {'ppl hf':>10} {'ppl lathe':>10} {'rel diff':>9}")
    for i, text in enumerate(texts):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        round_trips += tokenizer.decode(ids, clean_up_tokenization_spaces=False) == text
        x = [eot] + ids
        assert len(x) <= SEQ_LEN, f"document {i} needs {len(x)} tokens, more than one window of {SEQ_LEN}"
        with torch.no_grad():
            logits = model(torch.tensor([x])).logits[0].double()
        logp = torch.log_softmax(logits[:-1], dim=-1).gather(1, torch.tensor(x[1:]).unsqueeze(1))
        ppl_hf = math.exp(-logp.mean().item())

        one = os.path.join(work, f"doc{i}.jsonl")
        with open(one, "w") as f:
            f.write(json.dumps({"id": f"d{i}", "text": text, "source": "check"}) + "\n")
        out = run([f"{BIN}/lathe-eval", checkpoint, "--data", one, "--tasks", "ppl", "--seq-len", str(SEQ_LEN), "--quiet"]).stdout
        metrics = {r["metric"]: r["value"] for r in map(json.loads, out.splitlines())}
        ppl_lathe, bpb = metrics["perplexity"], metrics["bits_per_byte"]
        count_lathe = bpb * math.log(2) * len(text.encode()) / math.log(ppl_lathe)
        rel = abs(ppl_hf - ppl_lathe) / ppl_hf
        worst_ppl = max(worst_ppl, rel)
        worst_count = max(worst_count, abs(count_lathe - (len(x) - 1)))
        print(f"{i:>4} {len(x) - 1:>9} {count_lathe:>7.2f} {ppl_hf:>10.4f} {ppl_lathe:>10.4f} {rel:>9.2e}")

    print(f"tokenizer: {round_trips}/{len(texts)} decoded round trips exact; "
          f"largest token-count difference {worst_count:.3f}")
    print(f"perplexity: largest relative difference transformers vs lathe-eval {worst_ppl:.2e} over {len(texts)} documents")
    ok = round_trips == len(texts) and worst_count < 0.01 and worst_ppl < 1e-4
    print("agree" if ok else "DISAGREE")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
