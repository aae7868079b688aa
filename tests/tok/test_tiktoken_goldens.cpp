// tiktoken rank files against the `tiktoken` package, through the goldens of
// tools/make_tok_goldens_tiktoken.py: the hard set with allowed_special="all" (encode) and as
// encode_ordinary (encode with add_special = false), and every document of the shared corpora.
#include <gtest/gtest.h>

#include "test_sentencepiece_tiktoken_util.h"
#include "tok/tiktoken_tokenizer.h"

using namespace ziq::tok;
using namespace ziq::tok::testing;

namespace {

const nlohmann::json& goldens() {
  static const nlohmann::json g = read_golden("tiktoken_goldens.json");
  return g;
}

class TiktokenGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (const auto& f : goldens()["families"])
      if (f["family"] == GetParam()) family_ = f;
    ASSERT_FALSE(family_.is_null());
    tok_ = std::make_unique<TiktokenTokenizer>(data_path(family_["file"]), GetParam());
  }
  nlohmann::json family_;
  std::unique_ptr<TiktokenTokenizer> tok_;
};

TEST_P(TiktokenGolden, HardSetMatchesTiktoken) {
  std::vector<std::string> texts = hard_texts();
  ASSERT_EQ(texts.size(), family_["hard"].size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(tok_->encode(texts[i]), family_["hard"][i].get<std::vector<TokenId>>()) << i << ": " << texts[i];
    EXPECT_EQ(tok_->encode(texts[i], false), family_["hard_ordinary"][i].get<std::vector<TokenId>>()) << texts[i];
  }
}

TEST_P(TiktokenGolden, DecodeRoundTrips) {
  for (const std::string& text : hard_texts()) {
    EXPECT_EQ(tok_->decode(tok_->encode(text)), text);
    EXPECT_EQ(tok_->decode(tok_->encode(text, false)), text);
  }
}

TEST_P(TiktokenGolden, CorporaMatchTiktoken) {
  expect_corpora_match(*tok_, family_["corpora"], GetParam());
}

INSTANTIATE_TEST_SUITE_P(Families, TiktokenGolden,
                         ::testing::Values("r50k_base", "p50k_base", "p50k_edit", "cl100k_base", "o200k_base",
                                           "o200k_harmony"));

}  // namespace
