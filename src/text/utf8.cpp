#include "text/utf8.h"

#include <algorithm>
#include <cstring>

#include "text/corpus.h"

namespace ziq::text {
namespace {

// Length of the well-formed sequence starting at p[0] (1..4), or 0 when ill-formed; then *bad is
// the length of its maximal subpart (the lead byte and the continuation bytes that still fit).
inline int sequence_length(const unsigned char* p, size_t avail, int* bad) {
  unsigned c = p[0];
  if (c < 0x80) return 1;
  int need;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte (narrower after E0 ED F0 F4)
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c == 0xE0) need = 2, lo = 0xA0;
  else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) need = 2;
  else if (c == 0xED) need = 2, hi = 0x9F;  // no surrogates
  else if (c == 0xF0) need = 3, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) need = 3;
  else if (c == 0xF4) need = 3, hi = 0x8F;  // nothing above U+10FFFF
  else {
    *bad = 1;  // 80..C1 (stray continuation, overlong lead) and F5..FF
    return 0;
  }
  for (int k = 1; k <= need; ++k) {
    if (static_cast<size_t>(k) >= avail || p[k] < lo || p[k] > hi) {
      *bad = k;
      return 0;
    }
    lo = 0x80, hi = 0xBF;
  }
  return need + 1;
}

// Length of the leading run of ASCII bytes, 8 at a time.
inline size_t ascii_run(const unsigned char* p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) break;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

}  // namespace

size_t find_invalid_utf8(std::string_view s) {
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    i += ascii_run(p + i, n - i);
    if (i >= n) break;
    int bad;
    int len = sequence_length(p + i, n - i, &bad);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string replace_invalid_utf8(std::string_view s, uint64_t* replacements) {
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  uint64_t count = 0;
  std::string out;
  out.reserve(n + 16);
  while (i < n) {
    size_t run = ascii_run(p + i, n - i);
    out.append(s.data() + i, run);
    i += run;
    if (i >= n) break;
    int bad;
    int len = sequence_length(p + i, n - i, &bad);
    if (len > 0) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++count;
      i += bad;
    }
  }
  if (replacements) *replacements = count;
  return out;
}

uint64_t line_of_offset(std::string_view s, size_t offset) {
  offset = std::min(offset, s.size());
  return 1 + std::count(s.begin(), s.begin() + offset, '\n');
}

uint64_t count_code_points(std::string_view utf8) {
  // Every code point has exactly one byte that is not a continuation byte (10xxxxxx).
  uint64_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace ziq::text
