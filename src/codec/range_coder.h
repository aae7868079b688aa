// A range coder (arithmetic coding with bytewise output) over integer frequency tables, written
// for ziq: 56-bit state with carry propagation (the scheme of LZMA's coder, widened from 32 to 56
// bits so that tables may total up to 2^24 with a coding loss below 2^-24 per symbol).
//
// Encoder state: low (56 bits plus a carry bit), range in [2^48, 2^56) after normalisation, and a
// pending byte (`cache`) followed by `pending_ff` bytes of 0xFF that a later carry may still turn
// into cache+1, 0x00... . Encoding symbol [cum, cum + freq) of total T (T <= 2^24):
//   r = range / T; low += r * cum; range = r * freq; while range < 2^48: shift out a byte.
// The decoder mirrors it with code = (stream value - low): v = min(code / r, T - 1) names the
// symbol, then code -= r * cum, range = r * freq, and the same normalisation reads bytes. The
// stream's first byte (the initial cache) is always 0 and is not written; the encoder ends on the
// value of the final interval with the most trailing zero bytes and drops trailing zero bytes, so
// the decoder reads zeros past the end of the input (callers check checksums: a truncated or
// corrupt stream decodes to other symbols, never to an error here).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ziq::codec {

class RangeEncoder {
 public:
  static constexpr uint32_t kMaxTotal = 1u << 24;
  // Codes [cum, cum + freq) of total; 0 < freq, cum + freq <= total <= kMaxTotal.
  void encode(uint32_t cum, uint32_t freq, uint32_t total);
  // Ends the stream and returns the bytes (the encoder is reset).
  std::string finish();
  size_t bytes_so_far() const { return out_.size(); }

 private:
  void shift_low();
  static constexpr uint64_t kMask = (uint64_t(1) << 56) - 1;
  uint64_t low_ = 0;
  uint64_t range_ = kMask;
  uint8_t cache_ = 0;
  uint64_t pending_ = 1;  // bytes waiting: the cache, then pending_ - 1 bytes of 0xFF
  std::string out_;
};

class RangeDecoder {
 public:
  explicit RangeDecoder(std::span<const uint8_t> in);
  // The value in [0, total) that names the next symbol: the caller finds s with
  // cum[s] <= value < cum[s] + freq[s], then calls consume(cum[s], freq[s], total).
  uint32_t peek(uint32_t total);
  void consume(uint32_t cum, uint32_t freq, uint32_t total);
  // Bytes read beyond the input (zeros; at most 7 for a well-formed stream).
  size_t overrun() const { return overrun_; }

 private:
  uint8_t next_byte();
  static constexpr uint64_t kMask = (uint64_t(1) << 56) - 1;
  std::span<const uint8_t> in_;
  size_t pos_ = 0, overrun_ = 0;
  uint64_t code_ = 0;
  uint64_t range_ = kMask;
  uint64_t r_ = 0;  // range / total of the symbol being decoded (peek to consume)
};

// Integer frequencies from a distribution, the same on both sides given the same bits of the
// log-probabilities. The rule (fixed; the file format depends on it):
//   scale = 2^24 - V;  freq[i] = 1 + floor(exp(lp[i]) * scale)  (exp and the product in f64);
// every symbol keeps at least 1, and total = sum freq <= 2^24 (if rounding of exp ever pushed the
// sum over, the largest frequency, lowest index among equals, is lowered by the excess).
struct FrequencyTable {
  std::vector<uint32_t> cum;  // cum[i] = sum of freq[0, i); cum[V] = total
  uint32_t total() const { return cum.back(); }
  uint32_t freq(size_t i) const { return cum[i + 1] - cum[i]; }
  size_t size() const { return cum.size() - 1; }
  void quantize(std::span<const double> logprobs);
  void uniform(size_t n);      // every symbol freq 1
  size_t find(uint32_t value) const;  // the symbol s with cum[s] <= value < cum[s + 1]
};

}  // namespace ziq::codec
