#!/usr/bin/env bash
# The Lathe pipeline on the bundled demo data (fixtures/demo, made by scripts/make_demo_data.py):
# Millbrook, an invented town, as a crawled web site, a Q&A dump and two eval sets.
# Each stage prints its summary line: what came in, what went out, what was dropped and why.
#
#   bash demo/run.sh                 the whole story (a few minutes on 2 cores)
#   DEMO_QUICK=1 bash demo/run.sh    fewer steps: what `make test` runs as an integration test
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LATHE_BIN:-.build/release}
DATA=fixtures/demo
OUT=${DEMO_OUT:-demo/out}
SEED=${SEED:-1}
if [ -n "${DEMO_QUICK:-}" ]; then PRE_STEPS=120; SFT_STEPS=90; RM_STEPS=30; DPO_STEPS=20; PPO_STEPS=10
else PRE_STEPS=300; SFT_STEPS=200; RM_STEPS=80; DPO_STEPS=60; PPO_STEPS=30; fi
rm -rf "$OUT" && mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*" >&2; }
start=$(date +%s)

step "bundled record fixtures against their schemas"
for f in fixtures/records/*.jsonl; do
  "$BIN/lathe" validate --kind "$(basename "$f" .jsonl)" "$f" --quiet -o /dev/null
done

step "1. the crawl -> documents: main text, Gopher quality rules, near-duplicates, eval-set leaks"
"$BIN/lathe-ingest" "$DATA/crawl.warc.gz" --filters gopher --rejects "$OUT/ingest-rejects.jsonl" |
  "$BIN/lathe-dedupe" --near --against "$DATA/choice.jsonl" --against "$DATA/prompts.jsonl" --min-ngram 5 \
    --contamination-report "$OUT/leaks.jsonl" --rejects "$OUT/dedupe-rejects.jsonl" -o "$OUT/documents.jsonl"
"$BIN/lathe" validate --kind document "$OUT/documents.jsonl" --quiet -o /dev/null

step "2. the Q&A dump -> threads -> SFT conversations (the accepted answer, else the top-voted) and preference pairs (every two answers whose votes differ; and the top-voted one over each other, for DPO)"
"$BIN/lathe-ingest" "$DATA/Posts.xml" --site millbrook -o "$OUT/threads.jsonl"
"$BIN/lathe-format-sft" "$OUT/threads.jsonl" --split train=0.9,test=0.1 --out-dir "$OUT/sft" --seed "$SEED" \
  --rejects "$OUT/sft-rejects.jsonl"
"$BIN/lathe-pair-prefs" "$OUT/threads.jsonl" --strategy all-pairs --split train=0.9,test=0.1 --out-dir "$OUT/prefs" \
  --seed "$SEED"
"$BIN/lathe-pair-prefs" "$OUT/threads.jsonl" --strategy best-vs-rest --split train=0.9,test=0.1 --out-dir "$OUT/prefs-best" \
  --seed "$SEED"
for part in train test; do
  "$BIN/lathe" validate --kind conversation "$OUT/sft/$part.jsonl" --quiet -o /dev/null
  "$BIN/lathe" validate --kind preference "$OUT/prefs/$part.jsonl" "$OUT/prefs-best/$part.jsonl" --quiet -o /dev/null
done

step "3. a byte-level BPE tokenizer on the documents and conversations (chatml markers kept whole)"
"$BIN/lathe-train" tokenizer "$OUT/documents.jsonl" "$OUT/sft/train.jsonl" --vocab-size 2048 -o "$OUT/tokenizer.json"

step "4. pretraining -> the base model, a mimic of the crawl ($PRE_STEPS steps)"
"$BIN/lathe-train" --objective pretrain --tokenizer "$OUT/tokenizer.json" --config "$DATA/model.json" \
  --seq-len 128 --batch-size 8 --steps "$PRE_STEPS" --lr 2e-3 --warmup 20 --seed "$SEED" \
  --out "$OUT/base" --log "$OUT/base-log.jsonl" "$OUT/documents.jsonl"
"$BIN/lathe" validate --kind train-log "$OUT/base-log.jsonl" --quiet -o /dev/null

step "5. instruction tuning -> the SFT assistant ($SFT_STEPS steps, loss on the answers only)"
"$BIN/lathe-train" --objective sft --init "$OUT/base/checkpoint-$PRE_STEPS" --packing \
  --seq-len 128 --batch-size 8 --steps "$SFT_STEPS" --lr 1e-3 --warmup 10 --seed "$SEED" \
  --eval-data "$OUT/sft/test.jsonl" --out "$OUT/sft-model" --log "$OUT/sft-log.jsonl" "$OUT/sft/train.jsonl"

step "6. a reward model on the voted pairs, from the SFT model's trunk ($RM_STEPS steps; held-out pair accuracy logged)"
"$BIN/lathe-train" --objective reward --init "$OUT/sft-model/checkpoint-$SFT_STEPS" \
  --seq-len 128 --batch-size 8 --steps "$RM_STEPS" --lr 1e-4 --warmup 10 --seed "$SEED" \
  --eval-data "$OUT/prefs/test.jsonl" --out "$OUT/rm" --log "$OUT/rm-log.jsonl" "$OUT/prefs/train.jsonl"
"$BIN/lathe" validate --kind train-log "$OUT/rm-log.jsonl" --quiet -o /dev/null
RM="$OUT/rm/checkpoint-$RM_STEPS"

step "7. DPO on the top-voted answers' pairs, starting from (and referenced to) the SFT model ($DPO_STEPS steps)"
# The reward model learns from every ordered pair; DPO, which moves the policy itself, from the pairs that
# say what to answer: pairs of two poor answers (a wrong one over an off-topic one) teach it nothing to say.
"$BIN/lathe-train" --objective dpo --init "$OUT/sft-model/checkpoint-$SFT_STEPS" --beta 0.1 --loss sigmoid \
  --seq-len 128 --batch-size 4 --steps "$DPO_STEPS" --lr 1.5e-4 --seed "$SEED" \
  --out "$OUT/dpo-model" --log "$OUT/dpo-log.jsonl" "$OUT/prefs-best/train.jsonl"
"$BIN/lathe" validate --kind train-log "$OUT/dpo-log.jsonl" --quiet -o /dev/null

step "8. PPO against the reward model on the training pairs' prompts, from the SFT model ($PPO_STEPS steps)"
"$BIN/lathe-train" --objective ppo --init "$OUT/sft-model/checkpoint-$SFT_STEPS" --reward-model "$RM" \
  --seq-len 128 --max-new-tokens 40 --batch-size 16 --mini-batches 2 --ppo-epochs 4 --kl-coef 0.1 \
  --steps "$PPO_STEPS" --lr 5e-5 --schedule constant --seed "$SEED" \
  --out "$OUT/ppo-model" --log "$OUT/ppo-log.jsonl" "$OUT/prefs/train.jsonl"
"$BIN/lathe" validate --kind train-log "$OUT/ppo-log.jsonl" --quiet -o /dev/null

step "9. evaluation of base, SFT, DPO and PPO, all asked the same way (plain text, no chat template):"
echo "   knowledge (multiple choice), behaviour (held-out questions: answered or asked back?)," >&2
echo "   then with the chat template: the held-out questions' answers judged by the reward model, alone and against" >&2
echo "   the SFT model's; preference accuracy and loss on the held-out splits; the reward model's own pair accuracy" >&2
MODELS=("$OUT/base/checkpoint-$PRE_STEPS" "$OUT/sft-model/checkpoint-$SFT_STEPS" "$OUT/dpo-model/checkpoint-$DPO_STEPS"
        "$OUT/ppo-model/checkpoint-$PPO_STEPS")
"$BIN/lathe-eval" "${MODELS[@]}" --data "$DATA/choice.jsonl" --data "$DATA/prompts.jsonl" --chat-template off \
  --temperature 0 --max-new-tokens 48 --seed "$SEED" --generations "$OUT/generations-plain.jsonl" -o "$OUT/results-plain.jsonl"
"$BIN/lathe-eval" "${MODELS[@]}" "$RM" --data "$DATA/prompts.jsonl" --data "$OUT/prefs/test.jsonl" --data "$OUT/sft/test.jsonl" \
  --tasks loss,prefs,reward,winrate --reward-model "$RM" --baseline "${MODELS[1]}" --temperature 0 --max-new-tokens 48 --seed "$SEED" \
  --ref "${MODELS[1]}" --generations "$OUT/generations-chat.jsonl" \
  -o "$OUT/results-chat.jsonl" --include "$OUT/results-plain.jsonl" --report "$OUT/report.html"
cat "$OUT/results-plain.jsonl" "$OUT/results-chat.jsonl" > "$OUT/results.jsonl"
"$BIN/lathe" validate --kind eval-result "$OUT/results.jsonl" --quiet -o /dev/null

step "what alignment changed (and what it did not)"
show() { # label metric task-prefix [template]: the value for each model
  local label=$1 metric=$2 task=$3 file=$4 line=""
  for m in "${MODELS[@]}"; do
    v=$(grep "\"checkpoint\":\"$m\"" "$OUT/$file" | grep "\"task\":\"$task" | grep "\"metric\":\"$metric\"" |
        sed 's/.*"value":\([-0-9.e]*\).*/\1/' | head -1)
    line="$line $(printf '%8.3f' "${v:-nan}")"
  done
  printf '%-44s%s\n' "$label" "$line"
}
printf '%-44s%9s%9s%9s%9s\n' "" base sft dpo ppo
show "knowledge: multiple-choice acc" acc choice results-plain.jsonl
show "held-out questions asked back" asks_question generate results-plain.jsonl
show "held-out questions answered and stopped" stopped generate results-plain.jsonl
show "reward of answers (chat), mean" mean reward results-chat.jsonl
show "win rate against SFT (reward model judge)" win_rate winrate results-chat.jsonl
show "prefs: voted-up answer more likely" accuracy prefs results-chat.jsonl
rm_acc=$(grep "\"checkpoint\":\"$RM\"" "$OUT/results-chat.jsonl" | grep '"metric":"accuracy"' | sed 's/.*"value":\([-0-9.e]*\).*/\1/' | head -1)
printf '%-44s %8.3f\n' "reward model: held-out pair accuracy" "${rm_acc:-nan}"
example=prompt-012
echo "answers to a held-out question, \"$(grep "\"$example\"" "$DATA/prompts.jsonl" | sed 's/.*"prompt": "\(.*\)"}/\1/')\" (chat template; reward):"
grep "\"id\":\"$example\"" "$OUT/generations-chat.jsonl" |
  sed 's/.*"checkpoint":"\([^"]*\)".*"response":"\([^"]*\)".*"reward":\([-0-9.e]*\).*/\1\t\3\t\2/' |
  while IFS=$'\t' read -r model reward text; do printf '  %-34s %6.2f  %s\n' "$model" "$reward" "$text" | cut -c1-150; done

echo
echo "outputs are in $OUT/ (report: $OUT/report.html), $(( $(date +%s) - start )) s"
