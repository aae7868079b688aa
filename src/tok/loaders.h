// Loaders of the non-JSON tokenizer kinds, called by load_tokenizer (load.cpp).
#pragma once

#include <memory>
#include <string>

#include "tok/tokenizer.h"

namespace ziq::tok {

// A SentencePiece .model; `folder` is the model folder whose tokenizer_config.json decides the
// BOS/EOS policy ("" for a bare file).
std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& model_path, const std::string& folder);
// A tiktoken rank file (.tiktoken), with the pattern and special tokens of its family.
std::unique_ptr<Tokenizer> load_tiktoken_tokenizer(const std::string& path);

}  // namespace ziq::tok
