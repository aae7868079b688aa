"""Writes hard.jsonl: hand-made texts that stress tokenizers (whitespace, scripts, emoji, special-
token look-alikes, normalization forms, very long words). Deterministic; rerun with
    python3 tests/data/tok/make_hard.py
from the repository root. Every line is {"content": ..., "subset": "hard", "meta": {"case": ...}}."""
import json
import os
import unicodedata

cases = []


def add(name, text):
    cases.append((name, text))


viet = "Tiếng Việt có dấu: Người ta thường nói rằng học, học nữa, học mãi. Đặng Thị Ngọc Thịnh."
add("empty", "")
add("single_space", " ")
add("spaces_run", "a" + " " * 37 + "b" + " " * 5)
add("only_spaces", " " * 64)
add("newlines", "line one\n\n\nline two\n \n  \n\t\nend\n")
add("crlf", "Windows line\r\nanother\r\n\r\n  indented\r\n\ttabbed\r\n")
add("lone_cr", "old mac\rline\r\rx")
add("tabs", "\tcol1\tcol2\t\tcol4\n\t\t\tdeep\t \t end")
add("mixed_ws_before_word", "x \t \n  y\u00a0\u00a0z\u3000w\u2003v\u202fq\u205fr\u1680s\u180et\u0085u")
add("digits", "1 12 123 1234 12345 " + "9" * 120 + " 3.14159265358979 -0.001 1e-10 1,000,000 ٣٤٥ १२३ ๑๒๓ ①②③ ½")
add("digits_long_run", "".join(str(i % 10) for i in range(5000)))
add("emoji_skin", "thumbs 👍 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿 wave 👋🏽👋🏿")
add("emoji_zwj", "family 👨‍👩‍👧‍👦 couple 👩‍❤️‍💋‍👨 tech 🧑🏽‍💻 rainbow 🏳️‍🌈 trans 🏳️‍⚧️ eye 👁️‍🗨️")
add("flags", "🇫🇷🇩🇪🇯🇵🇺🇸🇧🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿 🇦 single regional")
add("cjk", "日本語のテキストです。東京は日本の首都です。中文文本：我们今天去公园散步。한국어 문장입니다. 漢字かなカナ混じり文")
add("arabic", "اللغة العربية جميلة جداً. مرحبا بالعالم! الأرقام: ١٢٣٤٥٦٧٨٩٠ وَالتَّشْكِيلُ")
add("hebrew", "עברית היא שפה שמית. שָׁלוֹם עֲלֵיכֶם! מספרים 123 ו־456.")
add("devanagari", "हिन्दी भाषा भारत की राजभाषा है। संस्कृतम् क्षत्रिय ज्ञान श्री")
add("thai", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ สวัสดีครับ ผมชื่อสมชาย")
add("khmer", "ភាសាខ្មែរ គឺជាភាសាផ្លូវការរបស់ប្រទេសកម្ពុជា។ សួស្តី")
add("vietnamese_nfc", unicodedata.normalize("NFC", viet))
add("vietnamese_nfd", unicodedata.normalize("NFD", viet))
add("nfc_vs_nfd_latin", unicodedata.normalize("NFC", "Café naïve résumé Ångström") + " | " +
    unicodedata.normalize("NFD", "Café naïve résumé Ångström"))
add("hangul_nfd", unicodedata.normalize("NFD", "한국어 문장입니다 각"))
add("combining_marks_alone", "\u0301\u0301a\u0308\u0308\u0308 e\u0301\u0327 \u20dd \u0338=")
add("fullwidth", "ＡＢＣ　ｄｅｆ　１２３！＂＃＄％＆（）ｶﾀｶﾅ ﬁ ﬂ ㎏ ™ Ⅻ ⁵ ₂")
add("control_chars", "nul\x00bel\x07bs\x08vt\x0bff\x0cesc\x1b[31mred\x1b[0m del\x7f c1\x80\x9f end")
add("bom_and_format", "\ufeffBOM start zw\u200bsp zwnj\u200c zwj\u200d lrm\u200e rlm\u200f soft\u00adhyphen wj\u2060")
add("special_lookalikes", "<s> </s> <unk> <pad> <bos> <eos> <|endoftext|> <|begin_of_text|> <|end_of_text|> "
    "<|im_start|>user\nhi<|im_end|> [INST] do it [/INST] <start_of_turn>model <0x41> <SPECIAL_12> [control_8] "
    "<|reserved_special_token_3|> <s><s></s></s>< s> <|endoftext |> <|endoftext|><|endoftext|>")
add("specials_glued", "text<s>more</s>x<|endoftext|>y<|im_end|>z[INST]w")
add("metaspace_char", "\u2581already\u2581has\u2581metaspace \u2581 \u2581\u2581")
add("byte_level_chars", "ĠĊ ġ Ā ĉ Ġhello Ċ")
add("contractions", "I'm you're he's we've they'll I'd don't CAN'T He'S WE'LL 'S 'ſ İstanbul ǅ")
add("punct_runs", "!!!??? ... --- *** ((([[[{{{}}}]]]))) /// \\\\\\ ''' \"\"\" ``` ~~~ @@@ ### $$$ %%%")
add("code_python", "def f(x, *args, **kw):\n    \"\"\"Doc.\"\"\"\n    if x >= 0 and not args:\n        return {'a': [1, 2]}  # ok\n    return lambda y: y ** 2\n")
add("code_latex", "\\begin{equation}\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}\\end{equation} $\\alpha_{i,j}$")
add("urls", "https://example.com/path?q=1&r=%20x#frag user@mail.example.org C:\\Windows\\path")
add("long_word_10k", "a" * 10000)
add("long_mixed_word_10k", ("Pneumonoultramicroscopic" * 420)[:10000])
add("long_cjk_run", "的" * 3000)
add("long_emoji_run", "😀" * 1000)
add("long_space_run", " " * 5000 + "x" + "\n" * 500 + "y" + "\t" * 300)
add("private_use_and_rare", "\ue000\uf8ff \U000f0000 \U0010fffd 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚 \U0001f9ff \U0001fae8 \ufffd")
add("math_symbols", "∀x∈ℝ: x²≥0 ∑ᵢ aᵢ ≤ ∏ ∞ ≠ ≈ ⊂ ⊆ ∪ ∩ → ⇒ ⟨ψ|φ⟩ ℏ Å")
add("mixed_everything", "Hello 世界! 👋🏽 Привет мир — ¿Qué tal? 123abc\r\n\tΑλφα βήτα <s> ok")
add("trailing_newlines", "end with newlines\n\n\n")
add("leading_ws", "   \n  leading whitespace")
add("single_chars", "a")
add("single_emoji", "🙂")
add("single_newline", "\n")
add("greek_cyrillic", "Ελληνικά κείμενα με τόνους. Русский текст с ёлкой и ЙОД. Українська: ґїє.")
add("upper_lower", "UPPER lower MiXeD camelCase PascalCase snake_case SCREAMING_CASE kebab-case ΣΊΣΥΦΟΣ ǈ")
add("repeated_pattern", "ab" * 2000 + " " + "abc " * 500)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hard.jsonl")
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for name, text in cases:
        f.write(json.dumps({"content": text, "subset": "hard", "meta": {"case": name}}, ensure_ascii=False) + "\n")
print(f"wrote {len(cases)} cases to {out}")
