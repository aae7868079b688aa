// load_tokenizer: picks the loader for a path.
//   folder: tokenizer.model when tokenizer_config.json names a SentencePiece slow class (the
//           paper loaded those with use_fast=False), else tokenizer.json(.xz), else tokenizer.model;
//   file:   *.model, *.model.vN -> SentencePiece, *.tiktoken(.xz) -> tiktoken, anything else -> tokenizer.json.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/json_depth.h"
#include "tok/loaders.h"
#include "tok/tokenizer.h"
#include "tok/tokenizer_json.h"

namespace ziq::tok {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// tokenizer_config.json's tokenizer_class, "" when absent.
std::string tokenizer_class(const fs::path& config) {
  if (!fs::exists(config)) return "";
  const std::string text = read_maybe_xz(config.string());
  check_json_depth(text, config.string());
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) input_error("{}: not valid JSON", config.string());
  if (!j.is_object()) input_error("{}: expected a JSON object", config.string());
  auto it = j.find("tokenizer_class");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

bool is_sentencepiece_class(std::string cls) {
  if (ends_with(cls, "Fast")) return false;  // the fast classes are the tokenizer.json ones
  static const std::set<std::string> classes = {
      "LlamaTokenizer", "CodeLlamaTokenizer", "GemmaTokenizer", "T5Tokenizer", "AlbertTokenizer",
      "XLNetTokenizer", "BaichuanTokenizer", "InternLMTokenizer", "InternLM2Tokenizer", "YiTokenizer",
      "ChatGLMTokenizer", "MistralTokenizer", "CamembertTokenizer", "XLMRobertaTokenizer",
      "BigBirdTokenizer", "PegasusTokenizer", "MarianTokenizer", "DebertaV2Tokenizer"};
  return classes.count(cls) > 0;
}

fs::path first_existing(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (fs::exists(dir / n)) return dir / n;
  return {};
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) input_error("{}: no such file or folder", path);
  if (fs::is_directory(p)) {
    fs::path config = p / "tokenizer_config.json";
    fs::path sp_model = p / "tokenizer.model";
    fs::path json = first_existing(p, {"tokenizer.json", "tokenizer.json.xz"});
    if (fs::exists(sp_model) && (json.empty() || is_sentencepiece_class(tokenizer_class(config))))
      return load_sentencepiece_tokenizer(sp_model.string(), p.string());
    if (!json.empty()) return load_tokenizer_json(json.string(), fs::exists(config) ? config.string() : "");
    input_error("{}: no tokenizer.json or tokenizer.model in this folder", path);
  }
  std::string name = p.filename().string();
  // Mistral ships its SentencePiece model as tokenizer.model.v3 (and .v1, .v2): same format.
  static const std::regex sentencepiece_name(R"(.*\.model(\.v[0-9]+)?)");
  if (std::regex_match(name, sentencepiece_name)) return load_sentencepiece_tokenizer(path, "");
  if (ends_with(name, ".tiktoken") || ends_with(name, ".tiktoken.xz")) return load_tiktoken_tokenizer(path);
  return load_tokenizer_json(path);
}

}  // namespace ziq::tok
