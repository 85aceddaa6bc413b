#!/usr/bin/env python3
"""Builds the tokenizer golden data that Tests/LatheTokenizerTests checks without Python.

Trains four small byte-level BPE tokenizers with Hugging Face `tokenizers`, one per family
LatheTokenizer reads (GPT-2, GPT-2 with a prefix space, Llama 3, SmolLM2), on the corpus
below -- no model is downloaded -- and saves them under fixtures/tokenizers/. Then encodes
the texts below with each and writes fixtures/tokenizers/golden.jsonl, one line per
(tokenizer, text): {"tokenizer", "text", "add_special_tokens", "ids", "decoded"}.

    pip install tokenizers==0.23.3
    python3 scripts/make_tokenizer_golden.py

Run once; the outputs are committed as data. Rerun only to change the cases.
"""

import json
import os
import sys

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "tokenizers")

LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Small on purpose (the fixtures stay a few hundred kB) but covering every script the cases
# use, so the merges are not all English.
CORPUS = [
    "The quick brown fox jumps over the lazy dog. The dog didn't care; it'd seen foxes before.",
    "We'll train a small language model on the CPU, then we're going to fine-tune it with DPO.",
    "I'm sure they've read the paper, and she's written the code that they'll review tomorrow.",
    "Tokenizers split text into pieces: words, numbers like 2024 and 3.14159, and punctuation!",
    "In 1999 there were 12345 records; by 2023 the count was 987654321, or so the report says.",
    "Café, naïve, façade, résumé, Zürich, São Paulo, Ærøskøbing, Łódź and Ελληνικά are words.",
    "Über die Brücke gehen wir morgen früh, wenn das Wetter schön ist und die Straßen trocken.",
    "El niño comió una manzana mientras la señora leía el periódico en la estación de tren.",
    "Москва — столица России, а Санкт-Петербург известен своими белыми ночами и мостами.",
    "東京は日本の首都です。私は毎朝コーヒーを飲みます。今日はとても良い天気ですね。",
    "北京是中国的首都。我们正在训练一个小型语言模型，它可以理解中文和英文。",
    "서울은 대한민국의 수도입니다. 오늘 날씨가 정말 좋네요.",
    "مرحبا بالعالم، هذه جملة باللغة العربية لاختبار المقسم.",
    "שלום עולם, זה משפט בעברית.",
    "हिन्दी एक भारतीय भाषा है और यह देवनागरी लिपि में लिखी जाती है।",
    "Emoji: 😀 😃 😄 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ and flags 🇫🇷 🇯🇵 appear in chat logs all the time.",
    "def train(model, data, lr=3e-4):\n    for step, batch in enumerate(data):\n        loss = model(batch)\n",
    "\tif (x != y && z >= 10) { return x * y + z; }\n\treturn -1;\n}\n",
    "SELECT id, name FROM users WHERE age > 21 ORDER BY name;\r\nUPDATE users SET age = age + 1;\r\n",
    "    indented   text   with    many     spaces\n\n\nand blank lines\n",
    "<html><body><p class=\"note\">Hello &amp; welcome!</p></body></html>",
    "Mr. O'Neil's dog's bone isn't here. HE'LL BE BACK, SHE'D SAY. We've, you're, they're.",
    "Prices: $5.99, €12,50, £3, ¥1000, ₹250; temperatures 23°C and −5°F; 50% off; 1/2 cup.",
    "user: What is the capital of France?\nassistant: The capital of France is Paris.",
]
CORPUS = CORPUS * 20

# Texts that are not all in the corpus, chosen to reach every branch of the pre-tokenisers.
CASES = [
    "",
    "Hello world",
    "Hello, world! How are you doing today?",
    " leading space",
    "trailing space ",
    "double  space and   triple",
    "I'll've, you'd've, 'twas, y'all're, rock 'n' roll",
    "HE'LL SHE'S IT'D WE'VE THEY'RE I'M",
    "numbers 12345 and 1234567890 and 3.14159 and 1,000,000",
    "٣٤٥ Ⅻ ½ ² digits of other scripts",
    "Café naïve façade résumé Zürich",
    "Straße Ærøskøbing Łódź Ελληνικά Москва",
    "東京は日本の首都です。",
    "北京是中国的首都",
    "서울은 대한민국의 수도입니다",
    "مرحبا بالعالم",
    "שלום עולם",
    "हिन्दी भाषा",
    "e\u0301 combining acute, a\u0308 combining diaeresis",
    "Emoji 😀👍🏽 family 👨‍👩‍👧‍👦 rainbow 🏳️‍🌈 flags 🇫🇷🇯🇵",
    "def f(x):\n\treturn x + 1\n",
    "\tif (x != y && z >= 10) {\n\t\treturn;\n\t}",
    "line one\r\nline two\r\n\r\nline four",
    "a\n\n\nb",
    "   \n  \n",
    "    ",
    "\t\t",
    "trailing newline\n",
    "spaces before newline   \nnext",
    "no-break\u00a0space and ideographic\u3000space and nel\u0085end",
    "line\u2028separator and zero\u200bwidth",
    "controls \x01\x02\x1b[0m\x7f end",
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\nSure!<|im_end|><|endoftext|>",
    "text<|endoftext|>more text<|endoftext|>",
    "<|endoftext|>",
    "<|pad|><|pad|>",
    "<|im_start|<|im_end|>|>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
    "mask <mask> here and <mask>there",
    "single [WORD] ok but x[WORD]y not",
    "Lathe is a lathe-word in Lathe's docs",
    "URL https://example.com/path?q=1&r=2#frag and e-mail a.b@c.de",
    "$5.99 €12,50 £3 ¥1000 ₹250 23°C −5°F 50% 1/2",
    "SELECT id FROM users WHERE age > 21;",
    "<html><body><p class=\"note\">Hello &amp; welcome!</p></body></html>",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "The quick brown fox jumps over the lazy dog. The dog didn't care.",
    "We'll train a small language model on the CPU.",
    "ſ and 's 'S 'ſ apostrophes",
    "mixed123abc456def 7 89 0",
    "x" * 300,
]


def base_bpe(**kwargs):
    return models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False, **kwargs)


def train(tok, vocab_size, specials):
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    return tok


def gpt2_style():
    tok = Tokenizer(base_bpe())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tok, 1200, ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"])
    # Added tokens with every matching option, so the golden ids pin their behaviour.
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, single_word=False, normalized=False, special=True)])
    tok.add_tokens([
        AddedToken("[WORD]", single_word=True, normalized=False, special=False),
        AddedToken("Lathe", normalized=True, special=False),
    ])
    return tok


def gpt2_prefix_style():
    tok = Tokenizer(base_bpe())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    train(tok, 900, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.add_tokens([AddedToken("lathe-word", rstrip=True, normalized=True, special=False)])
    return tok


def llama3_style():
    tok = Tokenizer(base_bpe(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    train(tok, 1500, specials)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A",
            pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
            special_tokens=[("<|begin_of_text|>", bos)],
        ),
    ])
    return tok


def smollm2_style():
    tok = Tokenizer(base_bpe())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tok, 1000, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    return tok


def main():
    os.makedirs(OUT, exist_ok=True)
    built = {
        "gpt2-style.json": gpt2_style(),
        "gpt2-prefix-style.json": gpt2_prefix_style(),
        "llama3-style.json": llama3_style(),
        "smollm2-style.json": smollm2_style(),
    }
    lines = []
    for name, tok in built.items():
        path = os.path.join(OUT, name)
        tok.save(path, pretty=True)
        # Encode with the tokenizer as read back from disk, which is what Lathe will read.
        tok = Tokenizer.from_file(path)
        for text in CASES:
            for add_special in (False, True):
                ids = tok.encode(text, add_special_tokens=add_special).ids
                if add_special and ids == tok.encode(text, add_special_tokens=False).ids:
                    continue  # Only kept where the template changes something.
                decoded = tok.decode(ids, skip_special_tokens=False)
                lines.append({"tokenizer": name, "text": text, "add_special_tokens": add_special,
                              "ids": ids, "decoded": decoded})
    with open(os.path.join(OUT, "golden.jsonl"), "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"tokenizers {tokenizers.__version__}: wrote {len(built)} tokenizers and {len(lines)} golden lines to {OUT}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
