// SentencePiece .model files: truncated or corrupt files and bad tokenizer_config.json fields stop
// with an input error naming the file; the slow-LlamaTokenizer rules on small cases; encode is safe
// to call from several threads at once.
#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "core/mapped_file.h"
#include "test_sentencepiece_tiktoken_util.h"
#include "tok/sentencepiece_tokenizer.h"

using namespace ziq::tok;
using namespace ziq::tok::testing;

namespace {

const std::string kLlama = std::string(ZIQ_SHARED_DATA) + "/tokenizers/llama2/tokenizer.model";
const std::string kMistral = std::string(ZIQ_SHARED_DATA) + "/tokenizers/mistral_7b_v0_3";

class SentencePieceFiles : public ScratchDirTest {
 protected:
  // The input error loading gives, checked to name `names`; "" if it loads.
  std::string load_error(const std::string& model, const std::string& folder, const std::string& names) {
    return input_error_of([&] { SentencePieceTokenizer tok(model, folder); }, names);
  }
};

// Offsets where a top-level protobuf field of the model ends (a cut there still parses).
std::vector<size_t> field_ends(const std::string& b) {
  std::vector<size_t> ends;
  for (size_t pos = 0; pos < b.size();) {
    ++pos;  // tag: one byte for fields 1..15 of wire type 2
    uint64_t len = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t byte = b[pos++];
      len |= uint64_t(byte & 0x7F) << shift;
      if (!(byte & 0x80)) break;
    }
    pos += len;
    ends.push_back(pos);
  }
  return ends;
}

TEST_F(SentencePieceFiles, TruncatedModelIsRefused) {
  std::string model = ziq::read_file(kLlama);
  std::vector<size_t> cuts = {1, 2, 10, 1000, model.size() / 2, model.size() - 1};
  std::vector<size_t> ends = field_ends(model);
  ASSERT_EQ(ends.back(), model.size());
  for (size_t k : {size_t(0), size_t(1000), ends.size() - 3, ends.size() - 2}) cuts.push_back(ends[k]);
  for (size_t cut : cuts) {
    std::string p = write("cut.model", model.substr(0, cut));
    EXPECT_NE(load_error(p, "", p), "") << "cut at " << cut;
  }
  EXPECT_NE(load_error(write("empty.model", ""), "", "empty.model"), "");
  EXPECT_NE(load_error(write("text.model", "this is not a model\n"), "", "text.model"), "");
  EXPECT_NE(load_error((dir_ / "missing.model").string(), "", "missing.model"), "");
  EXPECT_EQ(load_error(write("whole.model", model), "", ""), "");
}

TEST_F(SentencePieceFiles, BadConfigIsRefused) {
  auto config = [&](const std::string& json) {
    write("cfg/tokenizer_config.json", json);
    return (dir_ / "cfg").string();
  };
  EXPECT_NE(load_error(kLlama, config("{not json"), "tokenizer_config.json: bad JSON"), "");
  EXPECT_NE(load_error(kLlama, config(R"({"tokenizer_class": "T5Tokenizer"})"), "tokenizer_class"), "");
  EXPECT_NE(load_error(kLlama, config(R"({"legacy": "no"})"), "legacy: expected true or false"), "");
  EXPECT_NE(load_error(kLlama, config(R"({"added_tokens_decoder": {"x": {"content": "<a>"}}})"),
                       "added_tokens_decoder.x"), "");
  EXPECT_NE(load_error(kLlama, config(R"({"bos_token": 5})"), "bos_token"), "");
  EXPECT_EQ(load_error(kLlama, config(R"({"tokenizer_class": "LlamaTokenizerFast", "legacy": null})"), ""), "");
}

// The rules of transformers 4.x's slow LlamaTokenizer, on cases small enough to read. Ids of the
// Llama-2 model: 1 <s>, 29871 "▁", 263 "▁a", 289 "▁b", 29890 "b".
TEST(SentencePieceRules, LegacyAndNot) {
  SentencePieceTokenizer legacy(kLlama, "");
  EXPECT_TRUE(legacy.policy().legacy);
  EXPECT_EQ(legacy.encode("a <s> b"), (std::vector<TokenId>{1, 263, 29871, 1, 29871, 289}));
  EXPECT_EQ(legacy.encode("a <s> b", false), (std::vector<TokenId>{263, 29871, 1, 29871, 289}));
  EXPECT_EQ(legacy.encode(""), (std::vector<TokenId>{1}));
  EXPECT_THROW(legacy.encode("ok \xff bad"), ziq::Error);

  SentencePieceTokenizer mistral(kMistral + "/tokenizer.model.v3", kMistral);
  EXPECT_FALSE(mistral.policy().legacy);
  EXPECT_EQ(mistral.vocab_size(), 32768u);
  // Non-legacy: no space is made up after a special token, and a lone "▁" before <s> is dropped.
  std::vector<TokenId> a = mistral.encode("a <s> b", false), b = mistral.encode("a <s>b", false);
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[2], 1);
  EXPECT_EQ(b.size(), 4u);
  EXPECT_NE(a[3], b[3]);  // "▁b" vs "b"
  EXPECT_EQ(mistral.encode("<s>x", false)[0], 1);
  // [INST] is special in the file but not in transformers' all_special_tokens: the "▁" stays.
  EXPECT_EQ(mistral.encode("[INST]x", false).size(), 3u);
  // The prefix space goes from the first piece that is output (as in transformers' decode).
  EXPECT_EQ(mistral.decode(mistral.encode("[INST] hi [/INST]</s>", false)), "[INST] hi [/INST]</s>");
  EXPECT_EQ(mistral.decode(mistral.encode("[INST] hi [/INST]</s>")), "<s> [INST] hi [/INST]</s>");
  EXPECT_EQ(mistral.decode(mistral.encode("hi there"), true), "hi there");
  EXPECT_EQ(mistral.decode(mistral.encode("[INST] hi [/INST]</s>"), true), " hi ");
}

TEST(SentencePieceRules, EncodeFromManyThreads) {
  SentencePieceTokenizer tok(kLlama, "");
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back("document " + std::to_string(i) + " <s> with some words " + std::string(i % 7, ' '));
  std::vector<std::vector<TokenId>> serial;
  for (const auto& t : texts) serial.push_back(tok.encode(t));
  std::vector<std::vector<TokenId>> parallel(texts.size());
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      for (size_t i = w; i < texts.size(); i += 4) parallel[i] = tok.encode(texts[i]);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(parallel, serial);
}

}  // namespace
