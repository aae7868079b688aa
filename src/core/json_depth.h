// Nesting depth of untrusted JSON (corpus lines, tokenizer.json, config.json, safetensors headers),
// bounded before parsing: nlohmann::json parses without recursion, but dumping, copying, comparing
// and our own readers of nested components (a tokenizer's Sequence normalizer) recurse once per
// level, and a 100000-deep array would overflow the stack.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ziq {

// Deeper than any real tokenizer, config or metadata (they nest fewer than 10 levels).
inline constexpr int kMaxJsonDepth = 256;

// The byte offset of the first '[' or '{' (outside strings) that opens level max_depth + 1, or
// std::string_view::npos when the text nests no deeper than max_depth. A linear scan, no recursion.
size_t json_too_deep_at(std::string_view text, int max_depth = kMaxJsonDepth);

// input_error "<where>: line L, column C (byte B): JSON nested deeper than N levels" when the
// text nests deeper than max_depth.
void check_json_depth(std::string_view text, const std::string& where, int max_depth = kMaxJsonDepth);

}  // namespace ziq
