// Placeholders until the SentencePiece and tiktoken loaders land; the helper that writes them
// deletes this file.
#include "core/error.h"
#include "tok/loaders.h"

namespace ziq::tok {

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& model_path, const std::string&) {
  input_error("{}: SentencePiece .model files are not supported by this build yet", model_path);
}

std::unique_ptr<Tokenizer> load_tiktoken_tokenizer(const std::string& path) {
  input_error("{}: tiktoken rank files are not supported by this build yet", path);
}

}  // namespace ziq::tok
