"""TRL reference for bench/rlhf.sh: DPO or reward-model training steps on the same tiny Llama,
tokenizer and synthetic pairs Lathe trains on, fp32, eager, 2 threads, batch 8.

    python bench/rlhf_trl.py dpo|reward CHECKPOINT PAIRS.jsonl STEPS

CHECKPOINT is a Lathe checkpoint directory (Hugging Face layout), loaded by transformers.
Rows are conversational, rendered with the checkpoint's chat template (ChatML, as Lathe renders
them); for the reward model tokens_per_sequence says how long TRL's sequences were. Gradient checkpointing is off (TRL turns it on by default; Lathe keeps every activation). Prints
key=value lines: pairs/s over the optimizer steps after the first (each step timed from its start
to its end by a callback, so data loading and TRL's set-up are left out), and the versions.
"""
import json
import sys
import time

import torch
import transformers
import trl
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, TrainerCallback


class StepTimer(TrainerCallback):
    def __init__(self):
        self.times = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self.start)


def main():
    kind, checkpoint, pairs_path, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    extra = sys.argv[5:]
    torch.set_num_threads(2)
    torch.manual_seed(1)
    pairs = [json.loads(line) for line in open(pairs_path)]
    # Conversational rows, so TRL renders them with the checkpoint's chat template as Lathe does (ChatML).
    rows = [{"prompt": [{"role": "user", "content": p["prompt"]}], "chosen": [{"role": "assistant", "content": p["chosen"]}],
             "rejected": [{"role": "assistant", "content": p["rejected"]}]} for p in pairs]
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or "<|endoftext|>"
    common = dict(output_dir="bench/out/rlhf/trl-" + kind, per_device_train_batch_size=8, max_steps=steps,
                  learning_rate=1e-5, logging_steps=steps, save_strategy="no", report_to=[], use_cpu=True, gradient_checkpointing=False,
                  dataloader_num_workers=0, bf16=False, fp16=False, seed=1, disable_tqdm=True)
    timer = StepTimer()
    if kind == "dpo":
        model = AutoModelForCausalLM.from_pretrained(checkpoint, torch_dtype=torch.float32, attn_implementation="eager")
        precompute = "precompute" in extra
        config = trl.DPOConfig(beta=0.1, max_length=512, precompute_ref_log_probs=precompute, **common)
        trainer = trl.DPOTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                                 callbacks=[timer])
    else:
        model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=1, torch_dtype=torch.float32,
                                                                   attn_implementation="eager")
        model.config.pad_token_id = tokenizer.pad_token_id
        config = trl.RewardConfig(max_length=512, **common)
        trainer = trl.RewardTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                                    callbacks=[timer])
    trainer.train()
    if kind == "reward":
        lengths = [len(ids) for column in ("chosen_ids", "rejected_ids") for ids in trainer.train_dataset[column]]
        print(f"tokens_per_sequence={sum(lengths) / len(lengths)}")
    timed = timer.times[1:]
    print(f"kind={kind}{'-precomputed' if kind == 'dpo' and precompute else ''}")
    print(f"steps={len(timer.times)}")
    print(f"pairs_per_second={8 * len(timed) / sum(timed)}")
    print(f"torch={torch.__version__}")
    print(f"transformers={transformers.__version__}")
    print(f"trl={trl.__version__}")


if __name__ == "__main__":
    main()
