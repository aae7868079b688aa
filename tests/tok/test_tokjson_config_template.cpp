// tokenizer_config.json's add_bos_token / add_eos_token as transformers 4.x applies them to a
// tokenizer.json folder (tests/data/tok/config_template.json, made by make_config_template.py
// with the `tokenizers` library plus the rule, and checked against transformers 4.46.3):
// LlamaTokenizerFast, CodeLlamaTokenizerFast and GemmaTokenizerFast put [BOS] $A [EOS] in place
// of tokenizer.json's post-processor; other classes keep it. Each case is a folder made here from
// a real tokenizer.json in ../shared/data/tokenizers and the case's config files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "tok/tokenizer.h"

namespace fs = std::filesystem;
using namespace ziq::tok;

namespace {

// A folder: tokenizer.json.xz (a link to the shared file), tokenizer_config.json and, when given,
// special_tokens_map.json.
fs::path make_folder(const std::string& name, const std::string& shared, const nlohmann::json& config,
                     const nlohmann::json& map) {
  const fs::path dir = fs::temp_directory_path() / ("ziq_config_template_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_symlink(fs::path(ZIQ_SHARED_DATA) / "tokenizers" / shared / "tokenizer.json.xz", dir / "tokenizer.json.xz");
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
  if (!map.is_null()) std::ofstream(dir / "special_tokens_map.json") << map.dump();
  return dir;
}

}  // namespace

TEST(TokJsonConfigTemplate, AddBosAndEosTokenAsTransformers4) {
  const auto g = nlohmann::json::parse(ziq::read_file(std::string(ZIQ_TEST_DATA) + "/tok/config_template.json"));
  if (!fs::exists(fs::path(ZIQ_SHARED_DATA) / "tokenizers")) GTEST_SKIP() << "no shared data";
  const auto texts = g["texts"].get<std::vector<std::string>>();
  int checked = 0;
  for (const auto& c : g["cases"]) {
    const std::string name = c["name"];
    const fs::path dir = make_folder(name, c["tokenizer"], c["tokenizer_config"], c["special_tokens_map"]);
    auto tok = load_tokenizer(dir.string());
    for (size_t k = 0; k < texts.size(); ++k) {
      EXPECT_EQ(tok->encode(texts[k], true), c["ids"][k].get<std::vector<TokenId>>()) << name << " text " << k;
      ++checked;
    }
    fs::remove_all(dir);
  }
  EXPECT_EQ(checked, 7 * int(texts.size()));
}

TEST(TokJsonConfigTemplate, UnknownOrMissingBosIsAnInputError) {
  if (!fs::exists(fs::path(ZIQ_SHARED_DATA) / "tokenizers")) GTEST_SKIP() << "no shared data";
  // llama3's vocabulary has no "<s>" (LlamaTokenizerFast's default bos_token).
  fs::path dir = make_folder("unknown_bos", "llama3", {{"tokenizer_class", "LlamaTokenizerFast"}}, nullptr);
  try {
    load_tokenizer(dir.string());
    ADD_FAILURE() << "no error";
  } catch (const ziq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json: bos_token \"<s>\" is not in"), std::string::npos)
        << e.what();
  }
  dir = make_folder("null_eos", "llama3",
                    {{"tokenizer_class", "LlamaTokenizerFast"}, {"bos_token", "<|begin_of_text|>"},
                     {"add_eos_token", true}, {"eos_token", nullptr}},
                    nullptr);
  EXPECT_THROW(load_tokenizer(dir.string()), ziq::Error);
  fs::remove_all(dir.parent_path());
}
