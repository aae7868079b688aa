// Scoring protocols: hand-worked examples of DESIGN.md's rules, and invariants over many random
// document-length sets. (tests/python/test_protocols.py compares with an independent Python
// transcription of the rules.)
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "core/error.h"
#include "eval/protocol.h"

using namespace ziq::eval;

namespace {

WindowPlan plan(ProtocolKind k, int64_t c, int64_t s, std::vector<int64_t> lengths) {
  return plan_windows({k, c, s}, lengths);
}

// For each (stream, target): how many times it is scored and the context it is scored with.
struct Scored {
  int count = 0;
  int64_t context = 0;
};
std::map<std::pair<int64_t, int64_t>, Scored> scored_targets(const WindowPlan& p) {
  std::map<std::pair<int64_t, int64_t>, Scored> out;
  for (const auto& w : p.windows)
    for (int64_t j = w.score_begin; j < w.length; ++j) {
      auto& e = out[{w.stream, w.start + j}];
      e.count++;
      e.context = j;
    }
  return out;
}

}  // namespace

TEST(Protocol, PaperSmallExample) {
  // C = 4, s = 2, B = 5, N = 10: W = (10 - 5) / 2 + 1 = 3 windows at 0, 2, 4.
  WindowPlan p = plan(ProtocolKind::paper, 4, 2, {3, 7});
  ASSERT_EQ(p.windows.size(), 3u);
  EXPECT_EQ(p.windows[0].start, 0);
  EXPECT_EQ(p.windows[0].score_begin, 1);  // targets 1..4
  EXPECT_EQ(p.windows[1].start, 2);
  EXPECT_EQ(p.windows[1].score_begin, 3);  // targets 5, 6
  EXPECT_EQ(p.windows[2].start, 4);
  EXPECT_EQ(p.windows[2].score_begin, 3);  // targets 7, 8
  for (const auto& w : p.windows) EXPECT_EQ(w.length, 5);
  EXPECT_EQ(p.scored_tokens, 8);  // target 9 is the never-scored tail
  EXPECT_FALSE(p.short_corpus);
  EXPECT_EQ(p.notes.size(), 1u);  // the unscored tail is reported
}

TEST(Protocol, PaperDefaultsExactFit) {
  // N = B + 2s: three windows, no tail.
  WindowPlan p = plan(ProtocolKind::paper, 1900, 512, {1901 + 1024});
  ASSERT_EQ(p.windows.size(), 3u);
  EXPECT_EQ(p.windows[2].start, 1024);
  EXPECT_EQ(p.windows[2].score_begin, 1901 - 512);
  EXPECT_EQ(p.scored_tokens, 1900 + 1024);
  EXPECT_TRUE(p.notes.empty());
}

TEST(Protocol, PaperShortCorpus) {
  WindowPlan p = plan(ProtocolKind::paper, 1900, 512, {100, 50});
  ASSERT_EQ(p.windows.size(), 1u);
  EXPECT_EQ(p.windows[0].length, 150);
  EXPECT_EQ(p.windows[0].score_begin, 1);
  EXPECT_EQ(p.scored_tokens, 149);
  EXPECT_TRUE(p.short_corpus);
  EXPECT_FALSE(p.notes.empty());
  // A single token or nothing: no window, still reported.
  for (auto lengths : {std::vector<int64_t>{}, std::vector<int64_t>{1}}) {
    WindowPlan q = plan(ProtocolKind::paper, 1900, 512, lengths);
    EXPECT_TRUE(q.windows.empty());
    EXPECT_TRUE(q.short_corpus);
    EXPECT_EQ(q.scored_tokens, 0);
  }
  // N == B is one full window, not the short case.
  WindowPlan r = plan(ProtocolKind::paper, 1900, 512, {1901});
  EXPECT_FALSE(r.short_corpus);
  EXPECT_EQ(r.scored_tokens, 1900);
}

TEST(Protocol, FullAddsEndAlignedTail) {
  WindowPlan p = plan(ProtocolKind::full, 4, 2, {10});  // paper windows end at 9; tail = {9}
  ASSERT_EQ(p.windows.size(), 4u);
  EXPECT_EQ(p.windows[3].start, 5);
  EXPECT_EQ(p.windows[3].length, 5);
  EXPECT_EQ(p.windows[3].score_begin, 4);
  EXPECT_EQ(p.scored_tokens, 9);
}

TEST(Protocol, DocStreamsAreDocuments) {
  WindowPlan p = plan(ProtocolKind::doc, 4, 2, {3, 1, 0, 6});
  EXPECT_EQ(p.stream_lengths, (std::vector<int64_t>{3, 1, 0, 6}));
  EXPECT_EQ(p.scored_tokens, 2 + 0 + 0 + 5);
  for (const auto& w : p.windows) EXPECT_TRUE(w.stream == 0 || w.stream == 3);
}

TEST(Protocol, RejectsBadParameters) {
  using ziq::Error;
  auto kind_of = [](ProtocolParams pp) {
    try {
      plan_windows(pp, {10});
    } catch (const Error& e) {
      return e.kind();
    }
    return ziq::ErrorKind::internal;  // no error at all: wrong
  };
  EXPECT_EQ(kind_of({ProtocolKind::paper, 4, 5}), ziq::ErrorKind::usage);  // stride > context
  EXPECT_EQ(kind_of({ProtocolKind::paper, 4, 0}), ziq::ErrorKind::usage);
  EXPECT_EQ(kind_of({ProtocolKind::full, 0, 1}), ziq::ErrorKind::usage);
  EXPECT_EQ(kind_of({ProtocolKind::doc, 4, -1}), ziq::ErrorKind::usage);
  EXPECT_NO_THROW(plan_windows({ProtocolKind::paper, 4, 4}, {10}));  // stride == context is fine
  EXPECT_THROW(parse_protocol("sliding"), Error);
  EXPECT_EQ(parse_protocol("doc"), ProtocolKind::doc);
}

TEST(Protocol, RandomInvariants) {
  std::mt19937_64 rng(20240409);
  for (int trial = 0; trial < 3000; ++trial) {
    const int64_t C = std::uniform_int_distribution<int64_t>(1, 64)(rng);
    const int64_t s = std::uniform_int_distribution<int64_t>(1, C)(rng);
    const int ndocs = std::uniform_int_distribution<int>(0, 8)(rng);
    std::vector<int64_t> lengths;
    for (int i = 0; i < ndocs; ++i) lengths.push_back(std::uniform_int_distribution<int64_t>(0, 3 * C)(rng));
    for (ProtocolKind kind : {ProtocolKind::paper, ProtocolKind::full, ProtocolKind::doc}) {
      SCOPED_TRACE(::testing::Message() << protocol_name(kind) << " C=" << C << " s=" << s
                                        << " docs=" << ndocs << " trial=" << trial);
      WindowPlan p = plan(kind, C, s, lengths);
      for (const auto& w : p.windows) {
        ASSERT_GE(w.stream, 0);
        ASSERT_LT(w.stream, (int64_t)p.stream_lengths.size());
        EXPECT_GE(w.start, 0);
        EXPECT_LE(w.length, C + 1);
        EXPECT_LE(w.start + w.length, p.stream_lengths[w.stream]);
        EXPECT_GE(w.score_begin, 1);        // the first token of a window is context only
        EXPECT_LT(w.score_begin, w.length);  // every window scores something
      }
      auto scored = scored_targets(p);
      int64_t total = 0;
      for (auto& [key, e] : scored) {
        EXPECT_EQ(e.count, 1) << "target " << key.second << " of stream " << key.first;
        EXPECT_GE(key.second, 1);  // a stream's first token is never scored
        // As much context as the stride scheme gives: the whole prefix, or at least C - s + 1.
        EXPECT_GE(e.context, std::min(key.second, C - s + 1));
        EXPECT_LE(e.context, C);
        total++;
      }
      EXPECT_EQ(total, p.scored_tokens);
      int64_t scoreable = 0;
      for (int64_t n : p.stream_lengths) scoreable += std::max<int64_t>(n - 1, 0);
      if (kind != ProtocolKind::paper) {
        EXPECT_EQ(p.scored_tokens, scoreable);  // every token after its stream's first
      } else {
        const int64_t n = p.stream_lengths[0];
        EXPECT_EQ(p.short_corpus, n < C + 1);
        // The scored targets are exactly 1..end-1: no holes, only an unscored tail (< s tokens).
        const int64_t end = p.windows.empty() ? std::min<int64_t>(n, 1)
                                              : p.windows.back().start + p.windows.back().length;
        EXPECT_EQ(p.scored_tokens, std::max<int64_t>(end - 1, 0));
        if (n >= C + 1) {
          EXPECT_LT(n - end, s);
        }
      }
    }
  }
}
