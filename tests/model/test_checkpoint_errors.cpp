// Bad checkpoints and configs: each must stop with a ziq::Error of kind input naming the file and
// the tensor or field, never crash (scripts/test.sh also runs these under AddressSanitizer).
// Good files of each dtype must read back the values written.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/model.h"
#include "model/safetensors.h"

namespace {

namespace fs = std::filesystem;
using namespace ziq::model;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("ziq_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A safetensors file from a header (written as given) and a data area.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

json entry(const std::string& dtype, std::vector<int64_t> shape, uint64_t begin, uint64_t end) {
  return {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {begin, end}}};
}

// Expects an input error whose message holds every one of `needles`.
template <typename Fn>
void expect_input_error(Fn&& fn, std::vector<std::string> needles) {
  try {
    fn();
    FAIL() << "no error; expected one mentioning " << needles[0];
  } catch (const ziq::Error& e) {
    EXPECT_EQ(e.kind(), ziq::ErrorKind::input) << e.what();
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what() << " lacks " << n;
  }
}

TEST(CheckpointRead, ReadsEachDtype) {
  TempDir d;
  const float f32[3] = {1.5f, -2.0f, 3.25f};
  const uint16_t bf16[2] = {0x3FC0, 0xC000};  // 1.5, -2
  const uint16_t f16[2] = {0x3E00, 0xC000};   // 1.5, -2
  std::string data(reinterpret_cast<const char*>(f32), 12);
  data += std::string(reinterpret_cast<const char*>(bf16), 4) + std::string(reinterpret_cast<const char*>(f16), 4);
  json h = {{"__metadata__", {{"format", "pt"}}},
            {"a", entry("F32", {3}, 0, 12)},
            {"b", entry("BF16", {1, 2}, 12, 16)},
            {"c", entry("F16", {2}, 16, 20)}};
  write_bytes(d.file("x.safetensors"), safetensors_bytes(h.dump(), data));
  Checkpoint c = Checkpoint::open_file(d.file("x.safetensors"));
  ASSERT_EQ(c.tensors().size(), 3u);
  const TensorView& a = c.get("a");
  EXPECT_EQ(a.dtype, DType::f32);
  EXPECT_EQ(a.shape, std::vector<int64_t>{3});
  float back[3];
  std::memcpy(back, a.data, 12);
  EXPECT_EQ(back[2], 3.25f);
  EXPECT_EQ(c.get("b").shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.get("c").dtype, DType::f16);
  expect_input_error([&] { c.get("missing"); }, {"x.safetensors", "missing"});
}

TEST(CheckpointErrors, TooShortForHeaderLength) {
  TempDir d;
  write_bytes(d.file("m.safetensors"), "abc");
  expect_input_error([&] { Checkpoint::open_file(d.file("m.safetensors")); }, {d.file("m.safetensors"), "truncated"});
}

TEST(CheckpointErrors, HeaderLengthPastEnd) {
  TempDir d;
  std::string bytes = safetensors_bytes(entry("F32", {1}, 0, 4).dump(), "");
  bytes[0] = char(0xFF);
  bytes[1] = char(0xFF);
  write_bytes(d.file("m.safetensors"), bytes);
  expect_input_error([&] { Checkpoint::open_file(d.file("m.safetensors")); }, {"m.safetensors", "header length"});
}

TEST(CheckpointErrors, HeaderNotJson) {
  TempDir d;
  write_bytes(d.file("m.safetensors"), safetensors_bytes("{\"a\": {\"dtype\": ", ""));
  expect_input_error([&] { Checkpoint::open_file(d.file("m.safetensors")); }, {"m.safetensors", "JSON"});
}

TEST(CheckpointErrors, TruncatedData) {
  TempDir d;
  json h = {{"w", entry("F32", {4, 4}, 0, 64)}};
  write_bytes(d.file("m.safetensors"), safetensors_bytes(h.dump(), std::string(40, '\0')));
  expect_input_error([&] { Checkpoint::open_file(d.file("m.safetensors")); }, {"m.safetensors", "'w'", "truncated"});
}

TEST(CheckpointErrors, OffsetsDisagreeWithShape) {
  TempDir d;
  json h = {{"ok", entry("F32", {2}, 0, 8)}, {"liar", entry("BF16", {3, 3}, 8, 24)}};
  write_bytes(d.file("m.safetensors"), safetensors_bytes(h.dump(), std::string(24, '\0')));
  expect_input_error([&] { Checkpoint::open_file(d.file("m.safetensors")); }, {"m.safetensors", "'liar'", "18"});
}

TEST(CheckpointErrors, ReversedOffsets) {
  TempDir d;
  json h = {{"r", entry("F32", {0}, 8, 0)}};
  write_bytes(d.file("m.safetensors"), safetensors_bytes(h.dump(), std::string(8, '\0')));
  expect_input_error([&] { Checkpoint::open_file(d.file("m.safetensors")); }, {"m.safetensors", "'r'"});
}

TEST(CheckpointErrors, OverlappingTensors) {
  TempDir d;
  json h = {{"first", entry("F32", {4}, 0, 16)}, {"second", entry("F32", {4}, 8, 24)}};
  write_bytes(d.file("m.safetensors"), safetensors_bytes(h.dump(), std::string(24, '\0')));
  expect_input_error([&] { Checkpoint::open_file(d.file("m.safetensors")); },
                     {"m.safetensors", "'second'", "'first'", "overlaps"});
}

TEST(CheckpointErrors, UnknownDtype) {
  TempDir d;
  for (const char* dtype : {"F64", "I8", "F8_E4M3", "Q4"}) {
    json h = {{"emb", entry(dtype, {1}, 0, 8)}};
    write_bytes(d.file("m.safetensors"), safetensors_bytes(h.dump(), std::string(8, '\0')));
    expect_input_error([&] { Checkpoint::open_file(d.file("m.safetensors")); }, {"m.safetensors", "'emb'", dtype});
  }
}

TEST(CheckpointErrors, MalformedEntries) {
  TempDir d;
  for (json bad : {json{{"t", 3}}, json{{"t", {{"dtype", "F32"}, {"shape", {-1}}, {"data_offsets", {0, 4}}}}},
                   json{{"t", {{"dtype", "F32"}, {"shape", {1}}}}},
                   json{{"t", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0}}}}},
                   json{{"t", {{"shape", {1}}, {"data_offsets", {0, 4}}}}}, json::array()}) {
    write_bytes(d.file("m.safetensors"), safetensors_bytes(bad.dump(), std::string(8, '\0')));
    expect_input_error([&] { Checkpoint::open_file(d.file("m.safetensors")); }, {"m.safetensors"});
  }
}

TEST(CheckpointErrors, ShardIndexProblems) {
  TempDir d;
  json h = {{"a", entry("F32", {1}, 0, 4)}};
  write_bytes(d.file("s1.safetensors"), safetensors_bytes(h.dump(), std::string(4, '\0')));
  const std::string index = d.file("model.safetensors.index.json");
  write_bytes(index, json{{"weight_map", {{"a", "s1.safetensors"}, {"b", "s1.safetensors"}}}}.dump());
  expect_input_error([&] { Checkpoint::open_folder(d.path().string()); }, {"s1.safetensors", "'b'"});
  write_bytes(index, json{{"weight_map", {{"a", "../s1.safetensors"}}}}.dump());
  expect_input_error([&] { Checkpoint::open_folder(d.path().string()); }, {"index.json", "'a'"});
  write_bytes(index, json{{"weight_map", {{"a", "absent.safetensors"}}}}.dump());
  expect_input_error([&] { Checkpoint::open_folder(d.path().string()); }, {"absent.safetensors"});
  write_bytes(index, "{\"weight_map\": ");
  expect_input_error([&] { Checkpoint::open_folder(d.path().string()); }, {"index.json", "JSON"});
  write_bytes(index, json{{"weight_map", {{"a", "s1.safetensors"}}}}.dump());
  EXPECT_EQ(Checkpoint::open_folder(d.path().string()).tensors().size(), 1u);
  fs::remove(index);
  expect_input_error([&] { Checkpoint::open_folder(d.path().string()); }, {"model.safetensors"});
}

// A copy of a golden model folder whose config.json is edited by `edit`.
std::string model_with_config(const TempDir& d, const std::function<void(json&)>& edit) {
  const fs::path src = fs::path(ZIQ_TEST_DATA) / "models" / "llama_rope_linear";
  for (const char* f : {"model.safetensors", "config.json"}) fs::copy_file(src / f, d.path() / f);
  json cfg = json::parse(std::ifstream(src / "config.json"));
  edit(cfg);
  write_bytes(d.file("config.json"), cfg.dump());
  return d.path().string();
}

TEST(CheckpointConfig, MissingRequiredField) {
  for (const char* field : {"hidden_size", "num_hidden_layers", "vocab_size", "intermediate_size", "architectures"}) {
    TempDir d;
    const std::string dir = model_with_config(d, [&](json& c) { c.erase(field); });
    expect_input_error([&] { load_model(dir); }, {"config.json", field});
  }
}

TEST(CheckpointConfig, BadValues) {
  TempDir d1, d2, d3, d4;
  expect_input_error([&] { load_model(model_with_config(d1, [](json& c) { c["num_key_value_heads"] = 3; })); },
                     {"config.json", "num_key_value_heads"});
  expect_input_error([&] { load_model(model_with_config(d2, [](json& c) { c["rope_scaling"]["type"] = "yarn"; })); },
                     {"config.json", "yarn"});
  expect_input_error([&] { load_model(model_with_config(d3, [](json& c) { c["hidden_size"] = "32"; })); },
                     {"config.json", "hidden_size"});
  expect_input_error([&] { load_model(model_with_config(d4, [](json& c) { c["rope_scaling"].erase("factor"); })); },
                     {"config.json", "factor"});
}

TEST(CheckpointConfig, UnknownArchitecture) {
  TempDir d;
  const std::string dir = model_with_config(d, [](json& c) { c["architectures"] = {"GPTNeoXForCausalLM"}; });
  expect_input_error([&] { load_model(dir); }, {"config.json", "GPTNeoXForCausalLM", "LlamaForCausalLM"});
}

TEST(CheckpointConfig, ShapeDisagreesWithConfig) {
  TempDir d;
  const std::string dir = model_with_config(d, [](json& c) { c["hidden_size"] = 64; });
  expect_input_error([&] { load_model(dir); }, {"model.safetensors", "model.embed_tokens.weight", "config.json"});
  TempDir d2;
  const std::string dir2 = model_with_config(d2, [](json& c) { c["attention_bias"] = true; });
  expect_input_error([&] { load_model(dir2); }, {"model.safetensors", "q_proj.bias"});
}

TEST(CheckpointResolve, FolderAndHuggingFaceCache) {
  TempDir d;
  const fs::path repo = d.path() / "hub" / "models--org--tiny";
  fs::create_directories(repo / "snapshots" / "abc123");
  fs::create_directories(repo / "snapshots" / "old");
  fs::create_directories(repo / "refs");
  write_bytes((repo / "refs" / "main").string(), "abc123\n");
  const char* saved = std::getenv("HF_HUB_CACHE");
  const std::string saved_value = saved ? saved : "";
  ::unsetenv("HF_HUB_CACHE");
  ::setenv("HF_HOME", d.path().c_str(), 1);
  EXPECT_EQ(resolve_model_path("org/tiny"), (repo / "snapshots" / "abc123").string());
  fs::remove(repo / "refs" / "main");
  fs::remove(repo / "snapshots" / "old");
  EXPECT_EQ(resolve_model_path("org/tiny"), (repo / "snapshots" / "abc123").string());
  expect_input_error([&] { resolve_model_path("org/absent"); }, {"org/absent", "models--org--absent"});
  expect_input_error([&] { resolve_model_path("./no/such/dir"); }, {"./no/such/dir"});
  EXPECT_EQ(resolve_model_path(d.path().string()), d.path().string());
  ::unsetenv("HF_HOME");
  if (saved) ::setenv("HF_HUB_CACHE", saved_value.c_str(), 1);
}

}  // namespace

namespace {

// config.json of a golden model, edited, alone in a folder: enough for the config's checks
// (loaded with random weights, so no checkpoint is read).
std::string config_of(const TempDir& d, const char* model, const std::function<void(json&)>& edit) {
  json cfg = json::parse(std::ifstream(fs::path(ZIQ_TEST_DATA) / "models" / model / "config.json"));
  edit(cfg);
  write_bytes(d.file("config.json"), cfg.dump());
  return d.file("config.json");
}

}  // namespace

// Family fields ziq does not run stop at load, naming config.json and the field.
TEST(CheckpointConfig, FamilyFieldsRefused) {
  LoadOptions opt;
  opt.random_weights = true;
  struct Case {
    const char* model;
    std::function<void(json&)> edit;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {"gemma2_hd64", [](json& c) { c["hidden_activation"] = "gelu"; }, {"config.json", "hidden_activation"}},
      {"gemma_hd64", [](json& c) { c["hidden_act"] = "relu"; }, {"config.json", "hidden_act"}},
      {"gemma_hd64", [](json& c) { c["use_bidirectional_attention"] = true; }, {"config.json", "use_bidirectional"}},
      {"gemma2_hd64", [](json& c) { c["layer_types"][0] = "chunked_attention"; }, {"config.json", "layer_types"}},
      {"gemma2_hd64", [](json& c) { c["attn_logit_softcapping"] = -1; }, {"config.json", "attn_logit_softcapping"}},
      {"olmo2_hd64", [](json& c) { c["hidden_act"] = "gelu"; }, {"config.json", "hidden_act", "Olmo2ForCausalLM"}},
      {"qwen3_hd64", [](json& c) { c["hidden_act"] = "gelu"; }, {"config.json", "hidden_act"}},
  };
  for (const Case& c : cases) {
    TempDir d;
    const std::string path = config_of(d, c.model, c.edit);
    expect_input_error([&] { load_model(path, opt); }, c.words);
  }
}
