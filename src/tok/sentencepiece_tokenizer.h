// SentencePiece .model files, encoded the way transformers 4.x's slow (use_fast=False)
// LlamaTokenizer encodes them, which is what the paper's script ran for SentencePiece models:
//   1. the text is split at added-token text (tokenizer_config.json's added_tokens_decoder, plus
//      the unk/bos/eos/pad tokens), leftmost and longest first, honouring lstrip/rstrip/single_word;
//   2. each piece of plain text goes to libsentencepiece:
//      legacy = true (transformers' default when the config has no "legacy"): as it is, with the
//        model's own dummy-prefix rule, so "a <s> b" gives ▁a ▁ <s> ▁▁b;
//      legacy = false: the model is loaded with add_dummy_prefix off; "▁" in the text becomes a
//        space, one "▁" is put before the whole text (add_prefix_space), and a piece that starts
//        with a space is encoded after "<unk>" whose pieces are then dropped — so text after a
//        special token gets no extra space: "a <s> b" gives ▁a ▁ <s> ▁b; a leading "▁" piece
//        right before a special token (one of bos/eos/unk/pad/additional) is dropped;
//   3. bos / eos added as add_bos_token (default true) / add_eos_token (default false) say.
// Tokenizer classes whose slow tokenizer is plain sp.encode (Gemma, Baichuan, InternLM2) take the
// legacy path whatever the config says. Any other tokenizer_class is refused by name.
// transformers 5.x has no slow LlamaTokenizer (its SentencePieceBackend lacks the prefix-space
// rules above), so the goldens come from transformers 4.46.3 (tools/make_tok_goldens_spm.py).
// decode: pieces through sentencepiece, added tokens as text; decode(encode(text, false)) == text
// except that "▁" in the text comes back as a space.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tok/added_tokens.h"
#include "tok/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ziq::tok {

// Everything beyond the .model that decides the ids.
struct SentencePiecePolicy {
  bool legacy = true;
  bool add_prefix_space = true;  // only read when legacy is false
  bool add_bos = true, add_eos = false;
  bool split_special_tokens = false;  // true: added-token text is encoded as plain text
  std::string tokenizer_class = "LlamaTokenizer";
  std::string unk_token = "<unk>", bos_token = "<s>", eos_token = "</s>", pad_token;
  std::vector<std::string> additional_special_tokens;
  std::vector<AddedToken> added;  // from added_tokens_decoder, plus the unk/bos/eos/pad tokens
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // folder: where tokenizer_config.json / special_tokens_map.json are read from ("" = none, and
  // the defaults of transformers 4.x's LlamaTokenizer apply). Throws input_error naming the file.
  // word_by_word = false: always hand sentencepiece the whole text (for tests; same ids).
  SentencePieceTokenizer(const std::string& model_path, const std::string& folder, bool word_by_word = true);
  ~SentencePieceTokenizer() override;

  std::vector<TokenId> encode(std::string_view text, bool add_special = true) const override;
  std::string decode(const std::vector<TokenId>& ids, bool skip_special = false) const override;
  size_t vocab_size() const override { return vocab_size_; }
  std::string kind() const override { return "sentencepiece"; }
  std::string fingerprint() const override { return fingerprint_; }

  const SentencePiecePolicy& policy() const { return policy_; }
  bool word_by_word() const { return word_sp_ != nullptr; }

 private:
  void load_policy(const std::string& folder);
  TokenId token_id(const std::string& token, const std::string& where) const;
  void encode_text(std::string_view text, std::vector<TokenId>& out) const;
  void encode_piece(std::string_view piece, std::vector<TokenId>& out) const;
  void setup_word_units(const std::string& model_bytes, bool add_dummy_prefix);
  void encode_words(std::string_view piece, std::vector<TokenId>& out) const;

  std::string model_path_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  // Word-by-word encoding (see setup_word_units): the processor for single words (dummy prefix
  // off), null when the model does not allow it; dummy_prefix_: put "▁" in front of the text.
  const sentencepiece::SentencePieceProcessor* word_sp_ = nullptr;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> owned_word_sp_;
  bool dummy_prefix_ = false;
  std::array<bool, 128> isolated_{};  // ASCII characters that are always words of their own
  uint64_t instance_ = 0;  // tells the thread-local word caches of two tokenizers apart
  SentencePiecePolicy policy_;
  AddedVocabulary splitter_;        // the added tokens with their flags off: only finds them
  std::unordered_map<std::string, int> added_by_text_;  // the same, for whole parts
  std::vector<int> added_by_id_;    // token id -> index into policy_.added, or -1
  std::vector<bool> all_special_;   // per policy_.added: in transformers' all_special_tokens
  TokenId bos_id_ = -1, eos_id_ = -1, space_piece_id_ = -1;
  size_t unk_prefix_pieces_ = 0;    // legacy = false: how many pieces "<unk>" encodes to
  size_t vocab_size_ = 0;
  std::string fingerprint_;
};

}  // namespace ziq::tok
