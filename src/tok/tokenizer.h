// Tokenizers. One interface for every kind ziq loads: Hugging Face tokenizer.json (a pipeline of
// normalizer, pre-tokenizer, model, post-processor, decoder), SentencePiece .model files (through
// libsentencepiece), and tiktoken rank files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ziq::tok {

using TokenId = int32_t;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // What Hugging Face's `tokenizer.encode(text)` gives by default when add_special is true:
  // the post-processor's / tokenizer_config.json's BOS/EOS added, special-token text in the input
  // matched as special tokens. add_special = false gives the bare ids.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special = true) const = 0;
  virtual std::string decode(const std::vector<TokenId>& ids, bool skip_special = false) const = 0;

  virtual size_t vocab_size() const = 0;
  // "tokenizer.json", "sentencepiece", "tiktoken"
  virtual std::string kind() const = 0;
  // A stable hash of everything that decides the ids (files and policy), hex.
  virtual std::string fingerprint() const = 0;
};

// Loads from a model folder (tokenizer.json + tokenizer_config.json + special_tokens_map.json, or
// tokenizer.model), or from one file: tokenizer.json, a SentencePiece .model, a .tiktoken file.
// Malformed files stop with ziq::Error naming the file and field.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace ziq::tok
