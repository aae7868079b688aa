#include "tok/byte_level.h"

#include <array>

#include "tok/unicode.h"

namespace ziq::tok {

namespace {
struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<std::string, 256> to_utf8;
  std::array<int16_t, 512> from_char{};  // code point (< 512) -> byte, -1 if none
  Tables() {
    from_char.fill(-1);
    auto shown_as_itself = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      char32_t c = shown_as_itself(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      to_char[b] = c;
      utf8_append(to_utf8[b], c);
      from_char[c] = static_cast<int16_t>(b);
    }
  }
};
const Tables& tables() {
  static const Tables t;
  return t;
}
}  // namespace

char32_t byte_to_char(uint8_t b) { return tables().to_char[b]; }
const std::string& byte_to_utf8(uint8_t b) { return tables().to_utf8[b]; }

std::optional<std::string> byte_level_decode(std::string_view shown) {
  const Tables& t = tables();
  std::string out;
  out.reserve(shown.size());
  size_t i = 0;
  while (i < shown.size()) {
    char32_t c = utf8_next(shown, i);
    if (c >= 512 || t.from_char[c] < 0) return std::nullopt;
    out.push_back(static_cast<char>(t.from_char[c]));
  }
  return out;
}

std::string byte_level_encode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char b : raw) out += tables().to_utf8[b];
  return out;
}

}  // namespace ziq::tok
