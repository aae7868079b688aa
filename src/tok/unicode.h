// Small UTF-8 and Unicode helpers the tokenizer pipeline shares: decoding one code point,
// encoding one, and the character classes Hugging Face tokenizers use (Rust's
// char::is_whitespace, is_numeric, punctuation), answered by utf8proc's tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "text/utf8.h"

namespace ziq::tok {

// Validation and lossy repair come from text/utf8.h; Rust's String::from_utf8_lossy (what
// tokenizers' ByteLevel decoder uses) replaces maximal invalid subparts exactly as Python does.
inline size_t utf8_invalid_at(std::string_view s) { return text::find_invalid_utf8(s); }
inline std::string utf8_lossy(std::string_view s) { return text::replace_invalid_utf8(s); }

// Length in bytes of the UTF-8 sequence that starts with byte b (1 for invalid lead bytes).
inline size_t utf8_len(uint8_t b) {
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) return 2;
  if ((b & 0xF0) == 0xE0) return 3;
  if ((b & 0xF8) == 0xF0) return 4;
  return 1;
}

// Decodes the code point at s[i] (valid UTF-8 assumed) and advances i.
inline char32_t utf8_next(std::string_view s, size_t& i) {
  auto b = static_cast<uint8_t>(s[i]);
  size_t n = utf8_len(b);
  if (i + n > s.size()) n = 1;
  char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  i += n;
  return c;
}

// Decodes the code point that ends just before s[i] and moves i back to its start.
inline char32_t utf8_prev(std::string_view s, size_t& i) {
  size_t j = i - 1;
  while (j > 0 && (static_cast<uint8_t>(s[j]) & 0xC0) == 0x80) --j;
  size_t k = j;
  char32_t c = utf8_next(s, k);
  i = j;
  return c;
}

void utf8_append(std::string& out, char32_t c);

bool is_whitespace(char32_t c);   // Unicode White_Space (Rust char::is_whitespace)
bool is_numeric(char32_t c);      // categories Nd, Nl, No (Rust char::is_numeric)
bool is_alphabetic_or_numeric(char32_t c);
bool is_punctuation(char32_t c);  // ASCII punctuation or a Unicode P* category (HF's is_punc)
bool is_mark(char32_t c);  // categories Mn, Mc, Me (what StripAccents removes)

}  // namespace ziq::tok
