// The scorer against an independent transcription of the paper's protocol (DESIGN.md, rules 1-5),
// with a fake tokenizer and a fake model whose log-probabilities are a pure function of (context,
// target): the expected nats are computed here without plan_windows or the scorer. Then: the same
// bits whatever the batch size and thread count, and a run stopped midway and resumed (in memory
// and through SQLite) gives exactly the uninterrupted figure.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "eval/scorer.h"
#include "model/model.h"
#include "store/eval_progress.h"
#include "text/corpus.h"
#include "tok/tokenizer.h"

namespace {

using namespace ziq;

// BOS = 1, then one id per UTF-8 byte (byte + 3).
class ByteTokenizer : public tok::Tokenizer {
 public:
  std::vector<tok::TokenId> encode(std::string_view text, bool add_special) const override {
    std::vector<tok::TokenId> ids;
    if (add_special) ids.push_back(1);
    for (unsigned char c : text) ids.push_back(c + 3);
    return ids;
  }
  std::string decode(const std::vector<tok::TokenId>&, bool) const override { return ""; }
  size_t vocab_size() const override { return 259; }
  std::string kind() const override { return "bytes"; }
  std::string fingerprint() const override { return "byte-tokenizer"; }
};

// ln p(target | context): a hash of the whole context and the target mapped into [-10.5, -0.5].
double fake_logprob(const int32_t* context, int64_t n, int32_t target) {
  uint64_t h = 1469598103934665603ull;
  for (int64_t i = 0; i < n; ++i) h = (h ^ static_cast<uint32_t>(context[i])) * 1099511628211ull;
  h = (h ^ static_cast<uint32_t>(target)) * 1099511628211ull;
  return -(0.5 + static_cast<double>(h % 10007) / 1000.0);
}

class FakeModel : public model::LanguageModel {
 public:
  FakeModel() { info_.vocab_size = 259; info_.fingerprint = "fake"; }
  const model::ModelInfo& info() const override { return info_; }
  void score(std::span<const model::ScoreRequest> batch, std::span<model::ScoreResult> out, bool) override {
    for (size_t i = 0; i < batch.size(); ++i) {
      double nll = 0;
      for (int64_t j = batch[i].score_begin; j < batch[i].length; ++j)
        nll += -fake_logprob(batch[i].tokens, j, batch[i].tokens[j]);
      out[i].nll_nats = nll;
    }
    if (++calls_ == stop_after_ && stop_) stop_->store(true);
  }
  int suggested_batch(int64_t) const override { return 4; }
  int64_t peak_memory() const override { return 0; }
  void stop_after(int calls, std::atomic<bool>* flag) { stop_after_ = calls; stop_ = flag; calls_ = 0; }
  int calls() const { return calls_; }

 private:
  model::ModelInfo info_;
  int calls_ = 0, stop_after_ = -1;
  std::atomic<bool>* stop_ = nullptr;
};

class MemoryStore : public eval::WindowStore {
 public:
  std::vector<std::pair<int64_t, double>> finished(const std::string& subset) override {
    return {windows[subset].begin(), windows[subset].end()};
  }
  void commit(const std::string& subset, std::span<const std::pair<int64_t, double>> w) override {
    for (auto& [i, v] : w) windows[subset][i] = v;
  }
  std::map<std::string, std::map<int64_t, double>> windows;
};

class SqliteStore : public eval::WindowStore {
 public:
  explicit SqliteStore(store::EvalProgress& p) : p_(p) {}
  std::vector<std::pair<int64_t, double>> finished(const std::string& s) override { return p_.finished(s); }
  void commit(const std::string& s, std::span<const std::pair<int64_t, double>> w) override { p_.commit(s, w); }

 private:
  store::EvalProgress& p_;
};

std::filesystem::path temp_dir() {
  auto d = std::filesystem::temp_directory_path() /
           ("ziq_test_scorer_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

struct Doc {
  std::string subset, content;
};

// Varied documents: ASCII, multi-byte UTF-8, an empty one; two interleaved subsets plus a short one.
std::vector<Doc> sample_docs() {
  std::vector<Doc> docs;
  for (int i = 0; i < 14; ++i) {
    std::string text;
    for (int j = 0; j < 5 + 7 * i; ++j) text += static_cast<char>('a' + (i * 7 + j * 3) % 26);
    if (i % 3 == 0) text += " caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
    docs.push_back({i % 2 ? "prose" : "code", text});
  }
  docs.insert(docs.begin() + 5, {"prose", ""});
  docs.push_back({"tiny", "hi"});
  return docs;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string write_corpus(const std::filesystem::path& dir, const std::vector<Doc>& docs) {
  auto path = dir / "corpus.jsonl";
  std::ofstream f(path);
  for (auto& d : docs)
    f << "{\"content\": \"" << json_escape(d.content) << "\", \"subset\": \"" << d.subset
      << "\", \"meta\": {}}\n";
  return path.string();
}

struct Expected {
  double nats = 0;
  uint64_t chars = 0, bytes = 0, docs = 0, empty = 0;
  int64_t tokens = 0, scored = 0, windows = 0;
};

// DESIGN.md's paper protocol, written out directly.
Expected expected_paper(const std::vector<Doc>& docs, const std::string& subset, int64_t C, int64_t s) {
  Expected e;
  std::vector<int32_t> S;
  ByteTokenizer tok;
  for (auto& d : docs) {
    if (d.subset != subset) continue;
    if (d.content.empty()) {
      e.empty++;
      continue;
    }
    e.docs++;
    e.bytes += d.content.size();
    for (unsigned char c : d.content) e.chars += (c & 0xC0) != 0x80;
    auto ids = tok.encode(d.content, true);
    S.insert(S.end(), ids.begin(), ids.end());
  }
  e.tokens = static_cast<int64_t>(S.size());
  const int64_t N = e.tokens, B = C + 1;
  auto window_nats = [&](int64_t start, int64_t first, int64_t end) {
    double w = 0;
    for (int64_t j = first; j < end; ++j) w += -fake_logprob(S.data() + start, j, S[start + j]);
    return w;
  };
  if (N >= B) {
    e.windows = (N - B) / s + 1;
    for (int64_t w = 0; w < e.windows; ++w) {
      int64_t first = w == 0 ? 1 : B - s;
      e.nats += window_nats(w * s, first, B);
      e.scored += B - first;
    }
  } else if (N >= 2) {  // shorter than one window: ziq scores one shorter window
    e.windows = 1;
    e.nats = window_nats(0, 1, N);
    e.scored = N - 1;
  }
  return e;
}

eval::PreparedCorpus prepare(const std::string& corpus, eval::ProtocolParams p, int threads) {
  text::CorpusReader reader({corpus});
  ByteTokenizer tok;
  return eval::prepare_corpus(reader, tok, p, threads);
}

uint64_t bits(double v) { return std::bit_cast<uint64_t>(v); }

TEST(Scorer, PaperProtocolEqualsDirectTranscription) {
  auto dir = temp_dir();
  auto docs = sample_docs();
  auto corpus = write_corpus(dir, docs);
  eval::ProtocolParams p{eval::ProtocolKind::paper, 16, 5};
  auto prepared = prepare(corpus, p, 2);
  FakeModel model;
  auto r = eval::score_corpus(prepared, model, {.batch = 3, .progress = false}, nullptr);
  ASSERT_TRUE(r.complete);
  ASSERT_EQ(r.subsets.size(), 3u);
  EXPECT_EQ(r.subsets[0].name, "code");  // order of first appearance
  EXPECT_EQ(r.subsets[1].name, "prose");
  EXPECT_EQ(r.subsets[2].name, "tiny");
  double sum_bpc = 0;
  for (auto& s : r.subsets) {
    auto e = expected_paper(docs, s.name, 16, 5);
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.documents, e.docs);
    EXPECT_EQ(s.empty_documents, e.empty);
    EXPECT_EQ(s.characters, e.chars);
    EXPECT_EQ(s.bytes, e.bytes);
    EXPECT_EQ(s.tokens, e.tokens);
    EXPECT_EQ(s.scored_tokens, e.scored);
    EXPECT_EQ(s.windows, e.windows);
    EXPECT_NEAR(s.nats, e.nats, 1e-12 * e.nats);
    ASSERT_TRUE(s.bpc.has_value());
    EXPECT_NEAR(*s.bpc, e.nats / (e.chars * std::log(2.0)), 1e-12);
    EXPECT_NEAR(*s.bits_per_byte, e.nats / (e.bytes * std::log(2.0)), 1e-12);
    sum_bpc += *s.bpc;
  }
  EXPECT_EQ(r.subsets[1].empty_documents, 1u);
  EXPECT_TRUE(r.subsets[2].short_corpus);
  EXPECT_FALSE(r.subsets[0].short_corpus);
  EXPECT_NEAR(*r.average_bpc, sum_bpc / 3, 1e-12);
  EXPECT_NEAR(*r.pooled_bpc, r.nats / (r.characters * std::log(2.0)), 1e-12);
}

TEST(Scorer, SameBitsForEveryBatchSizeAndThreadCount) {
  auto dir = temp_dir();
  auto corpus = write_corpus(dir, sample_docs());
  for (auto kind : {eval::ProtocolKind::paper, eval::ProtocolKind::full, eval::ProtocolKind::doc}) {
    eval::ProtocolParams p{kind, 12, 4};
    std::vector<uint64_t> reference;
    for (int threads : {1, 3}) {
      auto prepared = prepare(corpus, p, threads);
      for (int batch : {1, 2, 5, 64}) {
        FakeModel model;
        auto r = eval::score_corpus(prepared, model, {.batch = batch, .progress = false}, nullptr);
        std::vector<uint64_t> got;
        for (auto& s : r.subsets) got.push_back(bits(s.nats));
        got.push_back(bits(*r.average_bpc));
        if (reference.empty()) reference = got;
        EXPECT_EQ(got, reference) << eval::protocol_name(kind) << " threads " << threads << " batch " << batch;
      }
    }
  }
}

// doc scores each document as its own stream: the same as "full" on a corpus in which every
// document is a subset of its own (which checks that windows point into the right document).
TEST(Scorer, DocProtocolEqualsEachDocumentAlone) {
  auto dir = temp_dir();
  auto docs = sample_docs();
  auto corpus = write_corpus(dir, docs);
  FakeModel model;
  auto by_doc = eval::score_corpus(prepare(corpus, {eval::ProtocolKind::doc, 12, 4}, 2), model,
                                   {.batch = 3, .progress = false}, nullptr);
  std::vector<Doc> alone;
  std::map<std::string, std::vector<std::string>> members;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (docs[i].content.empty()) continue;
    alone.push_back({"d" + std::to_string(i), docs[i].content});
    members[docs[i].subset].push_back(alone.back().subset);
  }
  auto single = eval::score_corpus(prepare(write_corpus(dir, alone), {eval::ProtocolKind::full, 12, 4}, 2), model,
                                   {.batch = 2, .progress = false}, nullptr);
  std::map<std::string, const eval::SubsetResult*> one;
  for (auto& s : single.subsets) one[s.name] = &s;
  ASSERT_EQ(by_doc.subsets.size(), 3u);
  for (auto& s : by_doc.subsets) {
    double nats = 0;
    int64_t scored = 0, tokens = 0;
    for (auto& m : members[s.name]) {
      nats += one.at(m)->nats;
      scored += one.at(m)->scored_tokens;
      tokens += one.at(m)->tokens;
    }
    EXPECT_NEAR(s.nats, nats, 1e-12 * nats) << s.name;
    EXPECT_EQ(s.scored_tokens, scored) << s.name;
    EXPECT_EQ(s.scored_tokens, s.tokens - static_cast<int64_t>(s.documents)) << s.name;  // all but each first
    EXPECT_EQ(s.tokens, tokens) << s.name;
  }
}

TEST(Scorer, StoppedAndResumedRunEqualsUninterrupted) {
  auto dir = temp_dir();
  auto corpus = write_corpus(dir, sample_docs());
  auto prepared = prepare(corpus, {eval::ProtocolKind::paper, 10, 3}, 2);
  FakeModel model;
  auto whole = eval::score_corpus(prepared, model, {.batch = 2, .progress = false}, nullptr);
  const int total_calls = model.calls();
  ASSERT_GT(total_calls, 4);

  for (int resume_batch : {2, 3}) {
    MemoryStore store;
    std::atomic<bool> stop{false};
    model.stop_after(total_calls / 2, &stop);
    auto first = eval::score_corpus(prepared, model, {.batch = 2, .stop = &stop, .progress = false}, &store);
    EXPECT_FALSE(first.complete);
    EXPECT_EQ(model.calls(), total_calls / 2);
    model.stop_after(-1, nullptr);
    auto resumed = eval::score_corpus(prepared, model, {.batch = resume_batch, .progress = false}, &store);
    ASSERT_TRUE(resumed.complete);
    EXPECT_GT(resumed.resumed_windows, 0);
    EXPECT_EQ(first.computed_tokens + resumed.computed_tokens, whole.scored_tokens);
    EXPECT_EQ(whole.computed_tokens, whole.scored_tokens);
    ASSERT_EQ(resumed.subsets.size(), whole.subsets.size());
    for (size_t k = 0; k < whole.subsets.size(); ++k) EXPECT_EQ(bits(resumed.subsets[k].nats), bits(whole.subsets[k].nats));
    EXPECT_EQ(bits(*resumed.average_bpc), bits(*whole.average_bpc));
  }
}

TEST(Scorer, ResumesThroughSqlite) {
  auto dir = temp_dir();
  auto corpus = write_corpus(dir, sample_docs());
  auto prepared = prepare(corpus, {eval::ProtocolKind::paper, 10, 3}, 2);
  FakeModel model;
  auto whole = eval::score_corpus(prepared, model, {.batch = 1, .progress = false}, nullptr);
  const int total_calls = model.calls();
  const std::string db_path = (dir / "results.sqlite").string();
  {
    store::Database db(db_path);
    store::EvalProgress progress(db, R"({"run":"test"})");
    SqliteStore st(progress);
    std::atomic<bool> stop{false};
    model.stop_after(total_calls / 3, &stop);
    auto first = eval::score_corpus(prepared, model, {.batch = 1, .stop = &stop, .progress = false}, &st);
    EXPECT_FALSE(first.complete);
    EXPECT_EQ(progress.stored_windows(), total_calls / 3);
  }
  model.stop_after(-1, nullptr);
  store::Database db(db_path);  // a fresh connection, as a new process would open
  store::EvalProgress progress(db, R"({"run":"test"})");
  SqliteStore st(progress);
  auto resumed = eval::score_corpus(prepared, model, {.batch = 1, .progress = false}, &st);
  ASSERT_TRUE(resumed.complete);
  EXPECT_EQ(resumed.resumed_windows, total_calls / 3);
  EXPECT_EQ(model.calls(), total_calls - total_calls / 3);
  for (size_t k = 0; k < whole.subsets.size(); ++k) EXPECT_EQ(bits(resumed.subsets[k].nats), bits(whole.subsets[k].nats));
  EXPECT_EQ(progress.stored_windows(), whole.windows);
  progress.clear();
  EXPECT_EQ(progress.stored_windows(), 0);
}

TEST(EvalProgress, StoresDoublesExactlyAndSeparatesRuns) {
  auto dir = temp_dir();
  const std::string path = (dir / "p.sqlite").string();
  std::vector<std::pair<int64_t, double>> w = {{0, 0.1}, {1, 1.0 / 3.0}, {7, 12345.678901234567}, {3, 5e-324}};
  {
    store::Database db(path);
    store::EvalProgress a(db, "A"), b(db, "B");
    EXPECT_NE(a.run_key(), b.run_key());
    a.commit("cc", w);
    b.commit("cc", std::span(w).first(1));
  }
  store::Database db(path);
  store::EvalProgress a(db, "A");
  auto got = a.finished("cc");
  ASSERT_EQ(got.size(), 4u);
  std::map<int64_t, double> want(w.begin(), w.end());
  for (auto& [i, v] : got) EXPECT_EQ(bits(v), bits(want.at(i))) << i;
  EXPECT_TRUE(a.finished("python").empty());
  EXPECT_EQ(store::EvalProgress(db, "B").stored_windows(), 1);
}

TEST(EvalProgress, RunKeyIsFnv1a64) {
  // Published FNV-1a 64 test vectors.
  EXPECT_EQ(store::run_key_hash(""), "cbf29ce484222325");
  EXPECT_EQ(store::run_key_hash("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(store::run_key_hash("foobar"), "85944171f73967e8");
}

}  // namespace
