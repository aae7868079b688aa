// tiktoken rank files (one "base64(token bytes) rank" per line) with the split pattern and special
// tokens of their family (r50k_base, p50k_base, p50k_edit, cl100k_base, o200k_base, o200k_harmony;
// facts from openai/tiktoken's tiktoken_ext/openai_public.py). The family comes from the file
// name's stem ("cl100k_base.tiktoken[.xz]") unless it is given.
//
// Encoding is tiktoken's: the text is split by the family's regex (PCRE2, `\s` as Unicode
// White_Space as in Rust's regex crate); a piece that is itself a token is that token, any other
// is byte-pair merged by rank (lowest rank first, leftmost among equals).
//   encode(text, true)  = tiktoken's encode(text, allowed_special="all"): special-token text in the
//                         input becomes the special token, like Hugging Face's added tokens;
//   encode(text, false) = tiktoken's encode_ordinary(text): special-token text is plain text.
// Nothing is ever added (tiktoken has no BOS/EOS).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tok/regex.h"
#include "tok/added_tokens.h"
#include "tok/tokenizer.h"

namespace ziq::tok {

struct TiktokenFamily {
  std::string name;
  std::string pattern;
  std::vector<std::pair<std::string, TokenId>> special_tokens;
  size_t n_vocab = 0;  // ranks + special tokens, where tiktoken states it (0: not stated)
};

// The known families; nullptr for an unknown name.
const TiktokenFamily* find_tiktoken_family(std::string_view name);
std::vector<std::string> tiktoken_family_names();

// Rank lookup keyed by byte strings: open addressing over one arena of token bytes.
class RankTable {
 public:
  void reserve(size_t n);
  // False if the bytes are already present.
  bool insert(std::string_view bytes, TokenId rank);
  TokenId find(std::string_view bytes) const;  // -1 if absent
  size_t size() const { return count_; }
  // Calls f(bytes, rank) for every entry; the views live as long as the table.
  template <typename F>
  void for_each(F f) const {
    for (const Slot& s : slots_)
      if (s.rank >= 0) f(std::string_view(arena_).substr(s.offset, s.length), s.rank);
  }

 private:
  struct Slot {
    uint32_t offset = 0, length = 0;
    TokenId rank = -1;
    uint32_t tag = 0;  // high bits of the hash: most misses end without touching the bytes
  };
  void grow();
  std::string arena_;
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

class TiktokenTokenizer final : public Tokenizer {
 public:
  // family "" = from the file name. Throws input_error naming the file (and line) if it is bad.
  explicit TiktokenTokenizer(const std::string& path, const std::string& family = "");

  std::vector<TokenId> encode(std::string_view text, bool add_special = true) const override;
  std::string decode(const std::vector<TokenId>& ids, bool skip_special = false) const override;
  size_t vocab_size() const override { return decoder_.size(); }
  std::string kind() const override { return "tiktoken"; }
  std::string fingerprint() const override { return fingerprint_; }

  const std::string& family() const { return family_.name; }
  // One piece of text (a regex match): its token if it is one, else byte-pair merged.
  void encode_piece(std::string_view piece, std::vector<TokenId>& out) const;
  // The merge loop alone, by either implementation (short: tiktoken's quadratic scan; long: a
  // heap; encode_piece picks by length). Exposed so tests can check they agree.
  void merge(std::string_view piece, bool use_heap, std::vector<TokenId>& out) const {
    use_heap ? merge_long(piece, out) : merge_short(piece, out);
  }

 private:
  void encode_ordinary(std::string_view text, std::vector<TokenId>& out) const;
  void merge_short(std::string_view piece, std::vector<TokenId>& out) const;
  void merge_long(std::string_view piece, std::vector<TokenId>& out) const;

  std::string path_;
  TiktokenFamily family_;
  RankTable ranks_;
  std::unique_ptr<Regex> regex_;
  AddedVocabulary specials_;             // finds special-token text
  std::vector<std::string_view> decoder_;  // id -> bytes (into ranks_ or family_)
  std::vector<bool> is_special_;
  std::string fingerprint_;
  uint64_t instance_ = 0;  // tells the thread-local piece caches of two tokenizers apart
};

}  // namespace ziq::tok
