// Hugging Face tokenizer.json: builds the pipeline (added tokens -> normalizer -> pre-tokenizer ->
// model -> post-processor; decoder for the way back) and runs it. Follows what
// `tokenizers.Tokenizer.from_file(path).encode(text)` gives; see load.cpp for which files of a
// model folder are read.
#pragma once

#include <memory>
#include <string>

#include "tok/tokenizer.h"

namespace ziq::tok {

// Reads a whole file, decompressing it if it is xz (by content, not by name). Errors name the file.
std::string read_maybe_xz(const std::string& path);

// json_path: tokenizer.json (or .json.xz). config_path: tokenizer_config.json or "" (read for the
// fingerprint; the ids follow tokenizer.json alone, like tokenizers.Tokenizer.from_file).
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& json_path, const std::string& config_path = "");

}  // namespace ziq::tok
