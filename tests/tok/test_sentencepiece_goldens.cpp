// SentencePiece .model files against transformers 4.x's slow LlamaTokenizer (the paper's reference
// for SentencePiece models), through the goldens of tools/make_tok_goldens_spm.py: the hard set with
// and without special tokens, and every document of the three shared corpora.
#include <gtest/gtest.h>

#include "test_sentencepiece_tiktoken_util.h"
#include "tok/loaders.h"
#include "tok/sentencepiece_tokenizer.h"

using namespace ziq::tok;
using namespace ziq::tok::testing;

namespace {

const nlohmann::json& goldens() {
  static const nlohmann::json g = read_golden("spm_goldens.json");
  return g;
}

class SentencePieceGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (const auto& c : goldens()["configs"])
      if (c["name"] == GetParam()) config_ = c;
    ASSERT_FALSE(config_.is_null());
    tok_ = load_sentencepiece_tokenizer(data_path(config_["model"]), data_path(config_["folder"]));
  }
  nlohmann::json config_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_P(SentencePieceGolden, PolicyIsTheConfigs) {
  auto& sp = dynamic_cast<SentencePieceTokenizer&>(*tok_);
  EXPECT_EQ(sp.policy().legacy, config_["legacy"].get<bool>());
  EXPECT_EQ(tok_->kind(), "sentencepiece");
  EXPECT_TRUE(sp.word_by_word());  // these models allow the fast path; the corpora test it
}

// The whole-text path (models that do not allow word by word) on the hard set.
TEST_P(SentencePieceGolden, HardSetWholeTextPath) {
  SentencePieceTokenizer whole(data_path(config_["model"]), data_path(config_["folder"]), false);
  ASSERT_FALSE(whole.word_by_word());
  std::vector<std::string> texts = hard_texts();
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(whole.encode(texts[i]), config_["hard"][i].get<std::vector<TokenId>>()) << texts[i];
}

TEST_P(SentencePieceGolden, HardSetMatchesTransformers) {
  std::vector<std::string> texts = hard_texts();
  ASSERT_EQ(texts.size(), config_["hard"].size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(tok_->encode(texts[i]), config_["hard"][i].get<std::vector<TokenId>>()) << i << ": " << texts[i];
    EXPECT_EQ(tok_->encode(texts[i], false), config_["hard_bare"][i].get<std::vector<TokenId>>()) << texts[i];
  }
}

// decode(encode(text)) gives the text back, except that "▁" reads as a space (SentencePiece's
// whitespace symbol) and, where an added token strips the spaces next to it, those spaces.
TEST_P(SentencePieceGolden, DecodeRoundTrips) {
  for (const std::string& text : hard_texts()) {
    if (text.find("\xE2\x96\x81") != std::string::npos || text.find("<sep>") != std::string::npos) continue;
    EXPECT_EQ(tok_->decode(tok_->encode(text, false)), text);
  }
}

TEST_P(SentencePieceGolden, CorporaMatchTransformers) {
  expect_corpora_match(*tok_, config_["corpora"], GetParam());
}

INSTANTIATE_TEST_SUITE_P(Configs, SentencePieceGolden,
                         ::testing::Values("llama2", "llama2_nonlegacy", "mistral_7b_v0_3"));

}  // namespace
