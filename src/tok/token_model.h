// The model stage of a tokenizer.json pipeline (BPE, Unigram): turns one pre-tokenized piece into
// ids, and maps between ids and token strings (as the file writes them).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tok/tokenizer.h"

namespace ziq::tok {

class TokenModel {
 public:
  virtual ~TokenModel() = default;
  // Appends the ids of `piece` (raw bytes when the pipeline is byte-level, UTF-8 text otherwise).
  virtual void encode(std::string_view piece, std::vector<TokenId>& out) const = 0;
  // Token string as written in the vocabulary.
  virtual std::optional<TokenId> token_to_id(std::string_view token) const = 0;
  virtual const std::string* id_to_token(TokenId id) const = 0;  // nullptr if unknown
  virtual size_t vocab_size() const = 0;
  virtual size_t id_bound() const = 0;  // every id of the vocabulary is below this
};

}  // namespace ziq::tok
