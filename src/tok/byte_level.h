// GPT-2's byte-level alphabet: each of the 256 byte values is shown as one printable code point
// (printable Latin-1 bytes as themselves, the rest as U+0100 onwards, in byte order). Vocabularies
// of byte-level BPE tokenizers are written in this alphabet; ziq converts them back to raw bytes
// once at load time so encoding never maps text byte by byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ziq::tok {

// The code point that shows byte b.
char32_t byte_to_char(uint8_t b);
// The UTF-8 of byte_to_char(b).
const std::string& byte_to_utf8(uint8_t b);
// Raw bytes of a string written in the byte-level alphabet; nullopt if a character is outside it.
std::optional<std::string> byte_level_decode(std::string_view shown);
// Byte-level alphabet form of raw bytes.
std::string byte_level_encode(std::string_view raw);

}  // namespace ziq::tok
