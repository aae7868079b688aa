// Deeply nested JSON in every reader of untrusted JSON (corpus lines, tokenizer.json with a nested
// Sequence normalizer, config.json, safetensors headers): a clear input error naming the file and
// the place, never a stack overflow. Before, 100000-deep arrays crashed ziq.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "../temp_dir.h"
#include "core/json_depth.h"
#include "core/mapped_file.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "text/corpus.h"
#include "tok/tokenizer.h"

namespace {

namespace fs = std::filesystem;

constexpr int kDeep = 100000;

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

fs::path temp_dir() { return ziq::test::fresh_temp_dir("ziq_json_depth_"); }

std::string write(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary) << data;
  return p.string();
}

template <typename Fn>
std::string input_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const ziq::Error& e) {
    EXPECT_EQ(e.kind(), ziq::ErrorKind::input) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

// A tokenizer.json whose normalizer is `levels` Sequence normalizers nested in one another.
std::string nested_sequence_tokenizer(int levels) {
  std::string n = R"({"type": "Lowercase"})";
  for (int i = 0; i < levels; ++i) n = R"({"type": "Sequence", "normalizers": [)" + n + "]}";
  return R"({"normalizer": )" + n + R"(, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}})";
}

TEST(JsonDepth, ScansWithoutParsing) {
  EXPECT_EQ(ziq::json_too_deep_at(nested_arrays(ziq::kMaxJsonDepth)), std::string_view::npos);
  EXPECT_EQ(ziq::json_too_deep_at(nested_arrays(ziq::kMaxJsonDepth + 1)), size_t(ziq::kMaxJsonDepth));
  EXPECT_EQ(ziq::json_too_deep_at(R"({"a": [{"b": 1}], "c": {}})", 2), 7u);  // the { of {"b": 1}
  EXPECT_EQ(ziq::json_too_deep_at(R"({"a": [{"b": 1}], "c": {}})", 3), std::string_view::npos);
  // Brackets inside strings, escaped quotes included, do not count.
  EXPECT_EQ(ziq::json_too_deep_at(R"(["[[[[", "\"[[[[", "\\", {}])", 2), std::string_view::npos);
  EXPECT_EQ(ziq::json_too_deep_at(R"(["\\", [[]]])", 2), 8u);
  const std::string msg = input_error_of([] { ziq::check_json_depth("{\n  \"a\": [[[1]]]}", "f.json", 3); });
  EXPECT_NE(msg.find("f.json: line 2, column 10 (byte 12): JSON nested deeper than 3 levels"), std::string::npos) << msg;
}

TEST(JsonDepth, CorpusLineMeta) {
  auto dir = temp_dir();
  const std::string path = write(dir / "c.jsonl", "{\"content\": \"ok\"}\n{\"content\": \"x\", \"meta\": " +
                                                      nested_arrays(kDeep) + "}\n{\"content\": \"ok\"}\n");
  const std::string msg = input_error_of([&] {
    ziq::text::CorpusReader r({path});
    ziq::text::Document d;
    while (r.next(d)) {
    }
  });
  EXPECT_NE(msg.find(path + ":2: JSON nested deeper than"), std::string::npos) << msg;
  ziq::text::CorpusOptions skip;
  skip.skip_bad_lines = true;
  ziq::text::CorpusReader r({path}, skip);
  ziq::text::Document d;
  int n = 0;
  while (r.next(d)) ++n;
  EXPECT_EQ(n, 2);
  // Reasonable nesting in meta is kept.
  const std::string ok = write(dir / "ok.jsonl", "{\"content\": \"x\", \"meta\": " + nested_arrays(50) + "}\n");
  ziq::text::CorpusReader r2({ok});
  ASSERT_TRUE(r2.next(d));
  EXPECT_EQ(d.meta_json, nested_arrays(50));
}

TEST(JsonDepth, TokenizerSequenceNormalizer) {
  auto dir = temp_dir();
  const std::string deep = write(dir / "tokenizer.json", nested_sequence_tokenizer(kDeep));
  const std::string msg = input_error_of([&] { ziq::tok::load_tokenizer(deep); });
  EXPECT_NE(msg.find(deep + ": line 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nested deeper"), std::string::npos) << msg;
  // Nesting within the bound still loads and runs.
  const std::string ok = write(dir / "ok.json", nested_sequence_tokenizer(ziq::kMaxJsonDepth / 2 - 2));
  auto tok = ziq::tok::load_tokenizer(ok);
  EXPECT_EQ(tok->encode("AB").size(), 2u);
}

TEST(JsonDepth, ConfigJson) {
  auto dir = temp_dir();
  write(dir / "config.json", "{\"architectures\": [\"LlamaForCausalLM\"], \"x\": " + nested_arrays(kDeep) + "}");
  const std::string msg = input_error_of([&] { ziq::model::read_config(dir.string()); });
  EXPECT_NE(msg.find((dir / "config.json").string() + ": line 1, column 301"), std::string::npos) << msg;
}

TEST(JsonDepth, SafetensorsHeaderAndIndex) {
  auto dir = temp_dir();
  const std::string header = "{\"__metadata__\": " + nested_arrays(kDeep) + "}";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = char((uint64_t(header.size()) >> (8 * i)) & 0xFF);
  const std::string file = write(dir / "model.safetensors", bytes + header);
  std::string msg = input_error_of([&] { ziq::model::Checkpoint::open_file(file); });
  EXPECT_NE(msg.find(file + ": header: line 1"), std::string::npos) << msg;
  write(dir / "model.safetensors.index.json", "{\"weight_map\": " + nested_arrays(kDeep) + "}");
  msg = input_error_of([&] { ziq::model::Checkpoint::open_folder(dir.string()); });
  EXPECT_NE(msg.find("model.safetensors.index.json: line 1"), std::string::npos) << msg;
}

}  // namespace
