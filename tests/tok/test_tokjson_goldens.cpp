// ziq's tokenizer.json pipeline against ids recorded from Hugging Face tokenizers
// (tests/data/tok/goldens.json, made by tests/data/tok/make_goldens.py) on the real tokenizer
// files in ../shared/data/tokenizers, including the empty string, special-token look-alikes and
// decode. Also: encoding from many threads at once gives the same ids.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

#include "core/mapped_file.h"
#include "tok/tokenizer.h"

namespace fs = std::filesystem;
using namespace ziq::tok;

namespace {

nlohmann::json goldens() {
  static nlohmann::json g = nlohmann::json::parse(ziq::read_file(std::string(ZIQ_TEST_DATA) + "/tok/goldens.json"));
  return g;
}

std::string shared_tokenizer(const std::string& name) {
  return std::string(ZIQ_SHARED_DATA) + "/tokenizers/" + name + "/tokenizer.json.xz";
}

}  // namespace

TEST(TokJsonGoldens, EveryTokenizerMatchesHuggingFace) {
  auto g = goldens();
  const auto& texts = g["texts"];
  int checked = 0;
  for (auto& [name, entry] : g["tokenizers"].items()) {
    std::string path = shared_tokenizer(name);
    if (!fs::exists(path)) GTEST_SKIP() << "no shared data at " << path;
    auto tok = load_tokenizer(path);
    for (size_t k = 0; k < texts.size(); ++k) {
      std::string text = texts[k].get<std::string>();
      auto with = tok->encode(text, true);
      auto without = tok->encode(text, false);
      EXPECT_EQ(with, entry["with_special"][k].get<std::vector<TokenId>>()) << name << " text " << k << ": " << text.substr(0, 60);
      EXPECT_EQ(without, entry["without_special"][k].get<std::vector<TokenId>>()) << name << " text " << k;
      EXPECT_EQ(tok->decode(with, true), entry["decoded"][k].get<std::string>()) << name << " text " << k;
      ++checked;
    }
  }
  EXPECT_GE(checked, 8 * 50);
}

TEST(TokJsonGoldens, EncodingIsThreadSafe) {
  std::string path = shared_tokenizer("qwen2_5");
  if (!fs::exists(path)) GTEST_SKIP();
  auto tok = load_tokenizer(path);
  auto g = goldens();
  std::vector<std::string> texts;
  for (const auto& t : g["texts"]) texts.push_back(t.get<std::string>());
  std::vector<std::vector<TokenId>> serial;
  for (const auto& t : texts) serial.push_back(tok->encode(t));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> pool;
  for (int w = 0; w < 4; ++w) {
    pool.emplace_back([&, w] {
      for (int round = 0; round < 20; ++round)
        for (size_t k = 0; k < texts.size(); ++k)
          if (tok->encode(texts[(k + w * 7) % texts.size()]) != serial[(k + w * 7) % texts.size()]) ++mismatches[w];
    });
  }
  for (auto& th : pool) th.join();
  for (int w = 0; w < 4; ++w) EXPECT_EQ(mismatches[w], 0);
}

TEST(TokJsonGoldens, VocabSizeMatchesTokenizersCount) {
  // tokenizers' get_vocab_size(): model tokens plus added tokens outside the model.
  struct Case { const char* name; size_t size; };
  for (Case c : {Case{"gpt2", 50257}, Case{"llama3", 128256}, Case{"mistral_7b_v0_1", 32000}}) {
    std::string path = shared_tokenizer(c.name);
    if (!fs::exists(path)) GTEST_SKIP();
    EXPECT_EQ(load_tokenizer(path)->vocab_size(), c.size) << c.name;
  }
}
