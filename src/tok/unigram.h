// Unigram model of tokenizer.json (SentencePiece's unigram, as Hugging Face runs it): the
// segmentation of each piece with the highest total score (Viterbi over a byte trie of the
// vocabulary). A character no token covers is unk, scored min_score - 10; consecutive unks are
// fused; with byte_fallback an unk span becomes its <0xNN> byte tokens.
#pragma once

#include <string>
#include <vector>

#include "tok/bpe.h"  // VocabMap
#include "tok/byte_trie.h"
#include "tok/json_fields.h"
#include "tok/token_model.h"

namespace ziq::tok {

class UnigramModel : public TokenModel {
 public:
  UnigramModel(const Json& model, const JsonPlace& where);
  void encode(std::string_view piece, std::vector<TokenId>& out) const override;
  std::optional<TokenId> token_to_id(std::string_view token) const override;
  const std::string* id_to_token(TokenId id) const override;
  size_t vocab_size() const override { return pieces_.size(); }
  size_t id_bound() const override { return pieces_.size(); }

 private:
  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  VocabMap ids_;
  ByteTrie trie_;  // node values: token ids
  TokenId unk_id_ = -1;
  bool byte_fallback_ = false;
  double min_score_ = 0;
  std::string where_;
};

}  // namespace ziq::tok
