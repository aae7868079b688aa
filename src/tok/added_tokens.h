// Added tokens (tokenizer.json "added_tokens"): strings matched in the input before the model sees
// it, each giving its own id. Non-normalized tokens are matched on the raw input, normalized ones
// on each normalized segment. Matching is leftmost-longest over a byte trie; single_word rejects a
// match inside a word, lstrip / rstrip swallow the whitespace beside a match.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tok/byte_trie.h"
#include "tok/tokenizer.h"

namespace ziq::tok {

class Normalizer;

struct AddedToken {
  std::string content;
  TokenId id = -1;
  bool special = false, normalized = false, lstrip = false, rstrip = false, single_word = false;
};

// A stretch of input: text for the pipeline (id < 0) or one added token.
struct Segment {
  std::string_view text;
  TokenId id = -1;
  size_t offset = 0;  // byte offset in the string that was split
};

class AddedVocabulary {
 public:
  // A token with the same content as an earlier one replaces it.
  void add(AddedToken t);
  // Builds the matchers; normalized tokens are matched in their normalized form.
  void finalize(const Normalizer* normalizer);

  // Splits `text` at the added tokens of one kind (normalized_pass: the normalized ones).
  void split(std::string_view text, bool normalized_pass, std::vector<Segment>& out) const;
  bool has_normalized() const { return !normalized_.empty(); }

  const AddedToken* find(TokenId id) const;
  std::optional<TokenId> find(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  struct Trie {
    ByteTrie bytes;                   // node values: indices into tokens_
    std::vector<uint8_t> first_byte;  // 256 flags: a token starts with this byte
    bool empty() const { return bytes.empty(); }
    void build(const std::vector<std::pair<std::string, int32_t>>& entries);
    // Longest token starting at text[i]: (token index, end) or (-1, 0).
    std::pair<int32_t, size_t> longest_at(std::string_view text, size_t i) const;
  };

  std::vector<AddedToken> tokens_;
  std::unordered_map<TokenId, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  Trie raw_, normalized_;
};

}  // namespace ziq::tok
