#include "core/json_depth.h"

#include "core/error.h"

namespace ziq {

size_t json_too_deep_at(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

void check_json_depth(std::string_view text, const std::string& where, int max_depth) {
  const size_t at = json_too_deep_at(text, max_depth);
  if (at == std::string_view::npos) return;
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < at; ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  input_error("{}: line {}, column {} (byte {}): JSON nested deeper than {} levels", where, line,
              at - line_start + 1, at + 1, max_depth);
}

}  // namespace ziq
