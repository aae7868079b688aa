// Pipeline components on small hand-written tokenizer.json specs (tests/data/tok/components.json,
// made by tests/data/tok/make_components.py with Hugging Face tokenizers): each spec's ids and
// decoded text must equal what tokenizers gave. Plus malformed specs and the Split behaviours.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "tok/byte_level.h"
#include "tok/normalizers.h"
#include "tok/pre_tokenizers.h"
#include "tok/regex.h"
#include "tok/tokenizer.h"
#include "tok/unicode.h"

namespace fs = std::filesystem;
using namespace ziq::tok;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  fs::path dir = fs::temp_directory_path() / ("ziq_tokjson_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

}  // namespace

TEST(TokJsonComponents, SpecsMatchHuggingFace) {
  auto g = nlohmann::json::parse(ziq::read_file(std::string(ZIQ_TEST_DATA) + "/tok/components.json"));
  const auto& texts = g["texts"];
  for (auto& [name, c] : g["cases"].items()) {
    auto tok = load_tokenizer(write_temp(name + ".json", c["spec"].dump()));
    for (size_t k = 0; k < texts.size(); ++k) {
      std::string text = texts[k].get<std::string>();
      auto ids = tok->encode(text, true);
      EXPECT_EQ(ids, c["ids"][k].get<std::vector<TokenId>>()) << name << " text " << k << ": " << text;
      EXPECT_EQ(tok->encode(text, false), c["ids_no_special"][k].get<std::vector<TokenId>>()) << name << " text " << k;
      EXPECT_EQ(tok->decode(ids, true), c["decoded"][k].get<std::string>()) << name << " text " << k;
      EXPECT_EQ(tok->decode(ids, false), c["decoded_keep_special"][k].get<std::string>()) << name << " text " << k;
    }
  }
}

// Expected pieces from tokenizers.pre_tokenizers.Split("-", behavior, invert).pre_tokenize_str.
TEST(TokJsonComponents, SplitBehavioursOnLiteral) {
  std::string s = "a--b-c---";
  std::vector<std::pair<size_t, size_t>> m;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '-') m.emplace_back(i, i + 1);
  auto run = [&](SplitBehavior b, bool inv) {
    std::vector<Piece> out;
    split_piece({s, true}, m, inv, b, out);
    std::vector<std::string> r;
    for (auto& p : out) r.emplace_back(p.text);
    return r;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(run(SplitBehavior::removed, false), (V{"a", "b", "c"}));
  EXPECT_EQ(run(SplitBehavior::removed, true), (V{"-", "-", "-", "-", "-", "-"}));
  EXPECT_EQ(run(SplitBehavior::isolated, false), (V{"a", "-", "-", "b", "-", "c", "-", "-", "-"}));
  EXPECT_EQ(run(SplitBehavior::merged_with_previous, false), (V{"a-", "-", "b-", "c-", "-", "-"}));
  EXPECT_EQ(run(SplitBehavior::merged_with_previous, true), (V{"a", "-", "-b", "-c", "-", "-", "-"}));
  EXPECT_EQ(run(SplitBehavior::merged_with_next, false), (V{"a", "-", "-b", "-c", "-", "-", "-"}));
  EXPECT_EQ(run(SplitBehavior::merged_with_next, true), (V{"a-", "-", "b-", "c-", "-", "-"}));
  EXPECT_EQ(run(SplitBehavior::contiguous, false), (V{"a", "--", "b", "-", "c", "---"}));
  EXPECT_EQ(run(SplitBehavior::contiguous, true), (V{"a", "--", "b", "-", "c", "---"}));
}

TEST(TokJsonComponents, WhitespaceClassIsUnicodeWhiteSpace) {
  // PCRE2's \s also takes U+180E; Oniguruma's (and Python's str.isspace) does not.
  Regex re(R"(\s+)", "test");
  std::vector<std::pair<size_t, size_t>> m;
  re.find_all("a\u180Eb\u00A0\u3000c", m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], (std::pair<size_t, size_t>{5, 10}));
  EXPECT_EQ(rewrite_whitespace_classes(R"([^\s\p{L}]\S\\s)").find("\\S"), std::string::npos);
}

TEST(TokJsonComponents, Utf8LossyMatchesPython) {
  // bytes.decode("utf-8", "replace") of each input.
  EXPECT_EQ(utf8_lossy("a\xF0\x9F\x98" "b"), "a\xEF\xBF\xBD" "b");             // truncated 4-byte: one U+FFFD
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: three
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong: two
  EXPECT_EQ(utf8_lossy("\xE2\x82"), "\xEF\xBF\xBD");
  EXPECT_EQ(utf8_lossy("ok \xE2\x82\xAC"), "ok \xE2\x82\xAC");
}

namespace {
// Runs `mutate` on a small valid spec and expects an input error whose message holds `want`.
void expect_refused(const std::string& tag, const std::function<void(nlohmann::json&)>& mutate,
                    std::vector<std::string> want) {
  nlohmann::json s = {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", nlohmann::json::array()},
      {"normalizer", nullptr}, {"pre_tokenizer", nullptr}, {"post_processor", nullptr}, {"decoder", nullptr},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}},
                 {"merges", {"a b"}}}}};
  mutate(s);
  std::string path = write_temp(tag + ".json", s.dump());
  try {
    load_tokenizer(path);
    ADD_FAILURE() << tag << ": accepted";
  } catch (const ziq::Error& e) {
    EXPECT_EQ(e.kind(), ziq::ErrorKind::input) << tag;
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << tag << ": " << msg;
    for (const auto& w : want) EXPECT_NE(msg.find(w), std::string::npos) << tag << ": " << msg << " lacks " << w;
  }
}
}  // namespace

TEST(TokJsonComponents, MalformedSpecsAreRefusedByName) {
  expect_refused("merge_unknown", [](auto& s) { s["model"]["merges"] = {"a b", "a q"}; }, {"model.merges[1]", "\"q\""});
  expect_refused("merge_pairs_unknown", [](auto& s) { s["model"]["merges"] = nlohmann::json::array({nlohmann::json::array({"b", "a"})}); }, {"model.merges[0]", "\"ba\""});
  expect_refused("merge_three", [](auto& s) { s["model"]["merges"] = {"a b c"}; }, {"model.merges[0]"});
  expect_refused("vocab_negative", [](auto& s) { s["model"]["vocab"]["a"] = -1; }, {"model.vocab.a", "out of range"});
  expect_refused("vocab_string", [](auto& s) { s["model"]["vocab"]["a"] = "zero"; }, {"model.vocab.a"});
  expect_refused("unk_missing", [](auto& s) { s["model"]["unk_token"] = "<unk>"; }, {"model.unk_token"});
  expect_refused("no_model", [](auto& s) { s.erase("model"); }, {"model", "missing"});
  expect_refused("normalizer", [](auto& s) { s["normalizer"] = {{"type", "Precompiled"}}; }, {"normalizer", "Precompiled"});
  expect_refused("seq_normalizer", [](auto& s) { s["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "Nope"}}}}}; },
                 {"normalizer.normalizers[0]", "Nope"});
  expect_refused("post", [](auto& s) { s["post_processor"] = {{"type", "Whatever"}}; }, {"post_processor", "Whatever"});
  expect_refused("added_id", [](auto& s) {
    s["added_tokens"] = {{{"id", -4}, {"content", "<x>"}, {"special", true}}};
  }, {"added_tokens[0].id", "out of range"});
  expect_refused("truncation", [](auto& s) { s["truncation"] = {{"max_length", 5}}; }, {"truncation"});
  expect_refused("bytelevel_not_last", [](auto& s) {
    s["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "ByteLevel"}}, {{"type", "Digits"}}}}};
  }, {"pre_tokenizer", "ByteLevel"});
  std::string bad = write_temp("bad.json", "{\"model\": ");
  EXPECT_THROW(load_tokenizer(bad), ziq::Error);
}

TEST(TokJsonComponents, InvalidUtf8InputIsRefused) {
  auto g = nlohmann::json::parse(ziq::read_file(std::string(ZIQ_TEST_DATA) + "/tok/components.json"));
  auto tok = load_tokenizer(write_temp("any.json", g["cases"].begin().value()["spec"].dump()));
  EXPECT_THROW(tok->encode("ab\xFF"), ziq::Error);
}

// Each normalizer alone against tokenizers.normalizers.X().normalize_str on the hard set.
TEST(TokJsonComponents, NormalizersMatchHuggingFace) {
  auto g = nlohmann::json::parse(ziq::read_file(std::string(ZIQ_TEST_DATA) + "/tok/components.json"));
  const auto& texts = g["normalizer_texts"];
  ASSERT_GT(texts.size(), 40u);
  for (auto& [name, expected] : g["normalizers"].items()) {
    auto n = make_normalizer(nlohmann::json{{"type", name}}, JsonPlace{"test", "normalizer"});
    ASSERT_TRUE(n) << name;
    for (size_t k = 0; k < texts.size(); ++k) {
      std::string s = texts[k].get<std::string>();
      n->normalize(s);
      EXPECT_EQ(s, expected[k].get<std::string>()) << name << " text " << k << ": " << texts[k].get<std::string>();
    }
  }
}

// Each pre-tokenizer alone against tokenizers' pre_tokenize_str on the hard set.
TEST(TokJsonComponents, PreTokenizersMatchHuggingFace) {
  auto g = nlohmann::json::parse(ziq::read_file(std::string(ZIQ_TEST_DATA) + "/tok/components.json"));
  const auto& texts = g["normalizer_texts"];
  for (auto& [name, c] : g["pre_tokenizers"].items()) {
    auto pt = make_pre_tokenizer(c["spec"], JsonPlace{"test", "pre_tokenizer"});
    for (size_t k = 0; k < texts.size(); ++k) {
      std::string text = texts[k].get<std::string>();
      Pieces pieces;
      pieces.list.push_back({text, true});
      pt->pre_tokenize(pieces);
      std::vector<std::string> got;
      for (const auto& p : pieces.list) got.push_back(pt->byte_level() ? byte_level_encode(p.text) : std::string(p.text));
      EXPECT_EQ(got, c["pieces"][k].get<std::vector<std::string>>()) << name << " text " << k << ": " << text;
    }
  }
}
