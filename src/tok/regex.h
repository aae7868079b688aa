// A compiled PCRE2 pattern (UTF + UCP, JIT when available) and a helper that lists its
// non-overlapping matches. Hugging Face tokenizers uses Oniguruma; the patterns tokenizer.json
// files carry (GPT-2 / Llama-3 / Qwen style) mean the same in PCRE2 once `\s` is spelled as
// Unicode White_Space, which the constructor does (PCRE2's `\s` also takes U+180E).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ziq::tok {

class Regex {
 public:
  // Throws input_error naming `where` if the pattern does not compile.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the [begin, end) byte ranges of all non-overlapping matches in `text` (valid UTF-8).
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code*
  bool jit_ = false;
};

// `pattern` with Oniguruma's `\s` / `\S` rewritten as explicit White_Space classes (exposed for tests).
std::string rewrite_whitespace_classes(const std::string& pattern);

}  // namespace ziq::tok
