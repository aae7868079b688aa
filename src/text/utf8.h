// UTF-8 validation and repair, byte for byte as Python 3 decodes: a sequence is well-formed exactly
// when bytes.decode("utf-8") accepts it (no surrogates, no overlong forms, nothing above U+10FFFF),
// and repair gives what bytes.decode("utf-8", errors="replace") gives: each maximal ill-formed
// subpart (the Unicode "substitution of maximal subparts" practice) becomes one U+FFFD.
// Hand-written: the rules are a few lines, and utf8proc's iterator replaces per byte instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ziq::text {

// Offset of the first byte that is not part of a well-formed sequence; npos when all is valid.
size_t find_invalid_utf8(std::string_view s);

// The text with every maximal ill-formed subpart replaced by U+FFFD (EF BF BD); `replacements`
// (if given) receives how many U+FFFD were inserted.
std::string replace_invalid_utf8(std::string_view s, uint64_t* replacements = nullptr);

// 1-based line number of byte `offset` (lines end with '\n').
uint64_t line_of_offset(std::string_view s, size_t offset);

}  // namespace ziq::text
