#!/usr/bin/env python3
"""Writes tests/data/tok/spm_hard.jsonl: the hand-made hard set the SentencePiece and tiktoken
parity tests run on (one {"text": ...} per line): the texts below, then those of the tokenizer.json
tests' tests/data/tok/hard.jsonl that are not among them (a snapshot, so goldens do not move when
that file does).

Run from the repository root: python3 tools/make_tok_goldens_spm_hard.py
Then regenerate the goldens that use it (make_tok_goldens_spm.py, make_tok_goldens_tiktoken.py).
"""
import json
import os
import random
import unicodedata

VIET = "Tiếng Việt có dấu: người, được, những, trường học, Nguyễn"


def hard_texts():
    rng = random.Random(20240409)
    b64 = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(3000))
    t = [
        "", " ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "a\r\nb\r\n", "   leading spaces", "trailing spaces   ",
        "a  b   c    d     e", " " * 40 + "x", "\t\tindented\tline\n\t\t\tdeeper", "line1\n\nline2\n\n\n  line3  \n",
        "x" + " " * 17 + "\n" + " " * 3,
        "1234567890", "3.14159265358979323846", "1,000,000.00", "9" * 120, "123abc456def", "A1B2C3", "0x7FFF_FFFF",
        "2024-04-09T12:34:56Z", "v1.2.3-rc.4",
        "👍🏽 👍🏿", "👨‍👩‍👧‍👦 family", "🏳️‍🌈 🏴‍☠️", "🇺🇸🇫🇷🇯🇵🇩🇪", "😀😃😄😁", "❤️‍🔥", "🧑🏽‍💻 coding",
        "日本語のテキストです。東京は晴れ。", "中文文本测试，包括标点符号！", "안녕하세요, 세계!", "繁體中文與简体中文",
        "مرحبا بالعالم، كيف حالك؟", "שלום עולם, מה שלומך?", "नमस्ते दुनिया, आप कैसे हैं?", "สวัสดีชาวโลก สบายดีไหม",
        "សួស្តី​ពិភពលោក", VIET, unicodedata.normalize("NFC", VIET), unicodedata.normalize("NFD", VIET),
        unicodedata.normalize("NFC", "Ångström café naïve résumé"), unicodedata.normalize("NFD", "Ångström café naïve résumé"),
        "Привет, мир! Как дела?", "Γειά σου Κόσμε", "ＡＢＣ１２３！？　全角スペース", "ｶﾀｶﾅ ﾊﾝｶｸ",
        "\x00\x01\x02\x07\x08\x0b\x0c\x0e\x1b[0m\x7f", "zero\u200bwidth\u200cjoin\u200dx", "\ufeffBOM at start",
        "line\u2028sep\u2029para", "nbsp\u00a0here", "ideographic\u3000space", "nel\u0085char", "mongolian\u180evowel",
        "en\u2002em\u2003thin\u2009", "soft\u00adhyphen", "\U0001d400\U0001d401 math bold", "\U00020000 ext-B",
        "<s>", "</s>", "<unk>", "<s>hello", "hello</s>", "a<s>b", "a <s> b", " <s>", "<s> ", "<s><s></s>",
        "< s>", "<s >", "<<s>>", "</s ", "<pad>", "<0x41>", "<0x0A>", "▁", "▁▁x", "a▁b", " ▁ ", "<unk>text<unk>",
        "[INST] question [/INST] answer</s>", "[INST]hi", " [INST] ", "[control_8][control_10][control_1]x",
        "[control_999]", "a <sep> b", "a<sep>b", " <sep>  <sep> ", "x<word>y", "x <word> y", "<word>a", "a<word>",
        "<pad><pad>", "[TOOL_CALLS] [AVAILABLE_TOOLS]", "<|endoftext|>", "text<|endoftext|>more",
        "<|endoftext|> <|endoftext|>", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>", "<|endofprompt|>", "<|endoftext",
        "I'm you're we'll they've don't it's HE'S SHE'LL", "'s 'S 'ſ 'll", "ſ long s, K kelvin",
        "a" * 1000, "supercalifragilisticexpialidocious" * 20, b64, "!@#$%^&*()_+-=[]{}|;':\",./<>?" * 10,
        "def f(x):\n\treturn x ** 2  # square\n\nif __name__ == '__main__':\n    print(f(3))\n",
        "\\begin{equation}\n  \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}\n\\end{equation}",
        "https://example.com/path?query=1&b=2#frag", "user@example.com", "C:\\Users\\name\\file.txt",
        "Mixed: English, Français, Deutsch (Größe), Español (¿qué?), 日本, 한국어, العربية.",
    ]
    return t


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    texts = hard_texts()
    # A snapshot of the tokenizer.json tests' hard set too (tests/data/tok/hard.jsonl, "content").
    other = os.path.join(root, "tests", "data", "tok", "hard.jsonl")
    if os.path.exists(other):
        with open(other, encoding="utf-8") as f:
            for line in f.read().split("\n"):
                if line and json.loads(line)["content"] not in texts:
                    texts.append(json.loads(line)["content"])
    path = os.path.join(root, "tests", "data", "tok", "spm_hard.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text}) + "\n")
    print(f"wrote {path}: {len(texts)} texts")


if __name__ == "__main__":
    main()
