// The range coder round-trips any symbol stream under any frequency tables (random tables, skewed
// ones that force long carry chains and 0xFF runs, single-symbol tables of total 2^24), and the
// code length stays within a few bytes of the ideal -sum log2 p. Quantized tables keep every
// symbol, total at most 2^24, and depend only on the log-probabilities' bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "codec/range_coder.h"

using namespace ziq::codec;

namespace {

struct Table {
  std::vector<uint32_t> cum;
};

Table random_table(std::mt19937_64& rng, int mode) {
  const size_t n = 1 + rng() % (mode == 0 ? 300 : 5000);
  std::vector<uint32_t> f(n);
  for (auto& x : f) {
    if (mode == 0) x = 1 + rng() % 1000;
    else if (mode == 1) x = (rng() % 50 == 0) ? 1 + rng() % (1u << 20) : 1;  // very skewed
    else x = 1;
  }
  Table t;
  t.cum.assign(n + 1, 0);
  for (size_t i = 0; i < n; ++i) t.cum[i + 1] = t.cum[i] + f[i];
  if (t.cum[n] > RangeEncoder::kMaxTotal) return random_table(rng, 0);
  return t;
}

TEST(RangeCoder, RoundTripsRandomStreams) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const int mode = trial % 3;
    const size_t n_tables = 1 + rng() % 5;
    std::vector<Table> tables;
    for (size_t i = 0; i < n_tables; ++i) tables.push_back(random_table(rng, mode));
    const size_t len = rng() % 5000;
    std::vector<std::pair<size_t, uint32_t>> syms;  // (table, symbol)
    double ideal_bits = 0;
    RangeEncoder enc;
    for (size_t k = 0; k < len; ++k) {
      const size_t t = rng() % n_tables;
      const auto& c = tables[t].cum;
      // Draw symbols by their probability most of the time, uniformly (rare symbols) otherwise.
      uint32_t s;
      if (rng() % 4) {
        const uint32_t v = uint32_t(rng() % c.back());
        s = uint32_t(std::upper_bound(c.begin(), c.end(), v) - c.begin() - 1);
      } else {
        s = uint32_t(rng() % (c.size() - 1));
      }
      syms.emplace_back(t, s);
      enc.encode(c[s], c[s + 1] - c[s], c.back());
      ideal_bits -= std::log2(double(c[s + 1] - c[s]) / c.back());
    }
    const std::string out = enc.finish();
    EXPECT_LE(out.size() * 8.0, ideal_bits * (1 + 1e-6) + 16) << "trial " << trial;
    RangeDecoder dec(std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()));
    for (size_t k = 0; k < len; ++k) {
      const auto& c = tables[syms[k].first].cum;
      const uint32_t v = dec.peek(c.back());
      const uint32_t s = uint32_t(std::upper_bound(c.begin(), c.end(), v) - c.begin() - 1);
      ASSERT_EQ(s, syms[k].second) << "trial " << trial << " symbol " << k;
      dec.consume(c[s], c[s + 1] - c[s], c.back());
    }
    EXPECT_LE(dec.overrun(), 7u);
  }
}

TEST(RangeCoder, CertainSymbolsAndCarries) {
  // A symbol of probability ~1 costs almost nothing; the top symbol of each table drives low up
  // and forces carries through runs of 0xFF.
  std::mt19937_64 rng(3);
  RangeEncoder enc;
  std::vector<uint32_t> syms;
  const uint32_t T = RangeEncoder::kMaxTotal;
  for (int k = 0; k < 100000; ++k) {
    const uint32_t s = (rng() % 3 == 0) ? 1 : 0;  // table {1, T - 1}: 0 = [0,1), 1 = [1, T)
    syms.push_back(s);
    if (s == 0) enc.encode(0, 1, T); else enc.encode(1, T - 1, T);
  }
  const std::string out = enc.finish();
  RangeDecoder dec(std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()));
  for (uint32_t s : syms) {
    const uint32_t v = dec.peek(T);
    ASSERT_EQ(v == 0 ? 0u : 1u, s);
    if (s == 0) dec.consume(0, 1, T); else dec.consume(1, T - 1, T);
  }
  EXPECT_LE(dec.overrun(), 7u);
}

TEST(FrequencyTable, QuantizeKeepsEverySymbolAndIsDeterministic) {
  std::mt19937_64 rng(11);
  for (size_t V : {size_t(2), size_t(100), size_t(8192), size_t(152064)}) {
    std::vector<double> logits(V);
    std::normal_distribution<double> nd(0, 4);
    for (auto& x : logits) x = nd(rng);
    double mx = -1e300, sum = 0;
    for (double x : logits) mx = std::max(mx, x);
    for (double x : logits) sum += std::exp(x - mx);
    std::vector<double> lp(V);
    for (size_t i = 0; i < V; ++i) lp[i] = logits[i] - mx - std::log(sum);
    FrequencyTable a, b;
    a.quantize(lp);
    b.quantize(lp);
    EXPECT_EQ(a.cum, b.cum);
    EXPECT_LE(a.total(), RangeEncoder::kMaxTotal);
    EXPECT_GE(a.total(), RangeEncoder::kMaxTotal - V);
    for (size_t i = 0; i < V; ++i) ASSERT_GE(a.freq(i), 1u);
    for (uint32_t v : {0u, a.total() / 2, a.total() - 1}) {
      const size_t s = a.find(v);
      EXPECT_LE(a.cum[s], v);
      EXPECT_LT(v, a.cum[s + 1]);
    }
  }
}

}  // namespace
