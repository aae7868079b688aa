// Shared by the SentencePiece and tiktoken golden tests: the golden files written by
// tools/make_tok_goldens_{spm,tiktoken}.py, the hard set, the shared corpora, and the per-document
// hash the goldens store (FNV-1a 64 over the ids, as tests/python/spm_tiktoken_reference.py).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "text/corpus.h"
#include "tok/tokenizer.h"

namespace ziq::tok::testing {

inline std::string data_path(const std::string& p) {  // "shared:..." or "testdata:..."
  if (p.empty()) return "";
  auto colon = p.find(':');
  std::string kind = p.substr(0, colon), rel = p.substr(colon + 1);
  return (kind == "shared" ? std::string(ZIQ_SHARED_DATA) : std::string(ZIQ_TEST_DATA)) + "/" + rel;
}

inline nlohmann::json read_golden(const std::string& name) {
  return nlohmann::json::parse(read_file(std::string(ZIQ_TEST_DATA) + "/tok/" + name));
}

inline std::vector<std::string> hard_texts() {
  std::vector<std::string> texts;
  std::string all = read_file(std::string(ZIQ_TEST_DATA) + "/tok/spm_hard.jsonl");
  for (size_t pos = 0; pos < all.size();) {
    size_t end = all.find('\n', pos);
    if (end == std::string::npos) end = all.size();
    if (end > pos) texts.push_back(nlohmann::json::parse(all.substr(pos, end - pos))["text"]);
    pos = end + 1;
  }
  return texts;
}

// The non-empty documents of ../shared/data/corpora/<name>.jsonl.xz.
inline std::vector<std::string> corpus_docs(const std::string& name) {
  text::CorpusReader reader({std::string(ZIQ_SHARED_DATA) + "/corpora/" + name + ".jsonl.xz"});
  std::vector<std::string> docs;
  text::Document doc;
  while (reader.next(doc))
    if (!doc.content.empty()) docs.push_back(std::move(doc.content));
  return docs;
}

inline std::string ids_hash(const std::vector<TokenId>& ids) {
  uint64_t h = 14695981039346656037ull;
  for (TokenId id : ids) h = (h ^ static_cast<uint32_t>(id)) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Every non-empty document of the three corpora encoded as the goldens say ({"cc": {"tokens",
// "hashes"}, ...}); reports the first documents that differ.
inline void expect_corpora_match(const Tokenizer& tok, const nlohmann::json& corpora, const std::string& what) {
  for (auto& [name, golden] : corpora.items()) {
    std::vector<std::string> docs = corpus_docs(name);
    ASSERT_EQ(docs.size(), golden["hashes"].size()) << what << " " << name;
    size_t tokens = 0, bad = 0;
    for (size_t i = 0; i < docs.size(); ++i) {
      std::vector<TokenId> ids = tok.encode(docs[i]);
      tokens += ids.size();
      if (ids_hash(ids) != golden["hashes"][i].get<std::string>() && ++bad <= 3)
        ADD_FAILURE() << what << ": " << name << " document " << i << " differs from the peer";
    }
    EXPECT_EQ(bad, 0u) << what << " " << name;
    EXPECT_EQ(tokens, golden["tokens"].get<size_t>()) << what << " " << name;
  }
}

// A fixture with a scratch folder (removed afterwards) for writing broken files.
class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ziq_tok_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    std::filesystem::create_directories((dir_ / name).parent_path());
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  // The message of the input error that load() throws, checked to contain `names` (the file);
  // "" if it loads.
  template <typename Load>
  static std::string input_error_of(Load load, const std::string& names) {
    try {
      load();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input) << e.what();
      EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
      return e.what();
    }
    return "";
  }
  std::filesystem::path dir_;
};

}  // namespace ziq::tok::testing
