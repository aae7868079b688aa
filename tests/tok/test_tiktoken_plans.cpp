// tiktoken against the test vectors gpt-tokenizer checks against Python tiktoken:
// ../shared/data/tokenizers/tiktoken/gpt-tokenizer-TestPlans.txt, all of its records
// ("EncodingName: ...", "Sample: ...", "Encoded: [...]", blank line).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "tok/loaders.h"
#include "tok/tiktoken_tokenizer.h"

using namespace ziq::tok;

namespace {

struct Plan {
  std::string family, sample;
  std::vector<TokenId> ids;
};

std::vector<Plan> read_plans() {
  std::string all = ziq::read_file(std::string(ZIQ_SHARED_DATA) + "/tokenizers/tiktoken/gpt-tokenizer-TestPlans.txt");
  std::vector<std::string> lines;
  for (size_t pos = 0; pos <= all.size();) {
    size_t end = all.find('\n', pos);
    if (end == std::string::npos) end = all.size();
    lines.push_back(all.substr(pos, end - pos));
    pos = end + 1;
  }
  std::vector<Plan> plans;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with("EncodingName: ")) continue;
    Plan p{lines[i].substr(14), "", {}};
    size_t j = i + 1;
    p.sample = lines[j++].substr(8);  // "Sample: "; a sample may run over several lines
    while (!lines[j].starts_with("Encoded: ")) p.sample += "\n" + lines[j++];
    p.ids = nlohmann::json::parse(lines[j].substr(9)).get<std::vector<TokenId>>();
    plans.push_back(std::move(p));
    i = j;
  }
  return plans;
}

TEST(TiktokenTestPlans, EveryRecordMatches) {
  std::vector<Plan> plans = read_plans();
  ASSERT_EQ(plans.size(), 313u);  // 1251 lines, four per record
  std::map<std::string, std::unique_ptr<TiktokenTokenizer>> toks;
  std::string dir = std::string(ZIQ_SHARED_DATA) + "/tokenizers/tiktoken/";
  for (const Plan& p : plans) {
    auto& tok = toks[p.family];
    if (!tok) {
      std::string file = p.family == "p50k_edit" ? "p50k_base" : p.family;
      tok = std::make_unique<TiktokenTokenizer>(dir + file + ".tiktoken.xz", p.family);
    }
    EXPECT_EQ(tok->encode(p.sample), p.ids) << p.family << ": " << p.sample;
    EXPECT_EQ(tok->encode(p.sample, false), p.ids) << p.family << ": " << p.sample;
    EXPECT_EQ(tok->decode(p.ids), p.sample) << p.family;
  }
  EXPECT_EQ(toks.size(), 5u);
}

// The family comes from the file name when it is not given.
TEST(TiktokenTestPlans, FamilyFromFileName) {
  auto tok = load_tiktoken_tokenizer(std::string(ZIQ_SHARED_DATA) + "/tokenizers/tiktoken/cl100k_base.tiktoken.xz");
  EXPECT_EQ(dynamic_cast<TiktokenTokenizer&>(*tok).family(), "cl100k_base");
  EXPECT_EQ(tok->kind(), "tiktoken");
  EXPECT_EQ(tok->vocab_size(), 100277u);
  EXPECT_EQ(tok->encode("hello world<|endoftext|>"), (std::vector<TokenId>{15339, 1917, 100257}));
}

}  // namespace
