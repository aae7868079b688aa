#include "codec/range_coder.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace ziq::codec {

namespace {
constexpr uint64_t kBottom = uint64_t(1) << 48;  // normalise while range < 2^48
}

void RangeEncoder::encode(uint32_t cum, uint32_t freq, uint32_t total) {
  if (freq == 0 || total == 0 || total > kMaxTotal || uint64_t(cum) + freq > total)
    internal_error("range coder: symbol [{}, {}) of total {}", cum, uint64_t(cum) + freq, total);
  const uint64_t r = range_ / total;
  low_ += r * cum;  // may set bit 56: the carry
  range_ = r * freq;
  while (range_ < kBottom) {
    range_ <<= 8;
    shift_low();
  }
}

// Moves the top byte of low (bits 48..55) out, resolving a carry (bit 56) into the waiting bytes.
void RangeEncoder::shift_low() {
  const uint64_t carry = low_ >> 56;
  const uint64_t top = (low_ >> 48) & 0xFF;
  if (carry || top != 0xFF) {
    out_.push_back(char(uint8_t(cache_ + carry)));
    for (; pending_ > 1; --pending_) out_.push_back(char(uint8_t(0xFF + carry)));
    pending_ = 0;
    cache_ = uint8_t(top);
  }
  ++pending_;
  low_ = (low_ & (kBottom - 1)) << 8;
}

// The shortest ending: the value in [low, low + range) with the most trailing zero bytes, whose
// zero bytes (and the stream's always-zero first byte) are not written, since the decoder reads
// zeros past the end.
std::string RangeEncoder::finish() {
  for (int k = 7; k >= 0; --k) {
    const uint64_t m = (uint64_t(1) << (8 * k)) - 1;
    const uint64_t v = (low_ + m) & ~m;
    if (v - low_ < range_) {
      low_ = v;
      break;
    }
  }
  for (int i = 0; i < 8; ++i) shift_low();
  std::string out = std::move(out_);
  if (out.empty() || out[0] != 0) internal_error("range coder: the stream does not start with 0");
  out.erase(0, 1);
  while (!out.empty() && out.back() == 0) out.pop_back();
  *this = RangeEncoder();
  return out;
}

RangeDecoder::RangeDecoder(std::span<const uint8_t> in) : in_(in) {
  for (int i = 0; i < 7; ++i) code_ = (code_ << 8) | next_byte();  // after the unwritten 0 byte
}

uint8_t RangeDecoder::next_byte() {
  if (pos_ < in_.size()) return in_[pos_++];
  ++overrun_;
  return 0;
}

uint32_t RangeDecoder::peek(uint32_t total) {
  if (total == 0 || total > RangeEncoder::kMaxTotal) internal_error("range decoder: total {}", total);
  r_ = range_ / total;
  return uint32_t(std::min<uint64_t>(code_ / r_, total - 1));
}

void RangeDecoder::consume(uint32_t cum, uint32_t freq, uint32_t total) {
  (void)total;
  code_ -= r_ * cum;
  range_ = r_ * freq;
  while (range_ < kBottom) {
    range_ <<= 8;
    code_ = ((code_ << 8) | next_byte()) & kMask;
  }
}

void FrequencyTable::quantize(std::span<const double> lp) {
  const size_t V = lp.size();
  if (V == 0 || V >= RangeEncoder::kMaxTotal / 2) internal_error("frequency table of {} symbols", V);
  const double scale = double(RangeEncoder::kMaxTotal - V);
  std::vector<uint32_t> f(V);
  uint64_t total = 0;
  size_t largest = 0;
  for (size_t i = 0; i < V; ++i) {
    const double q = std::floor(std::exp(lp[i]) * scale);
    f[i] = 1 + (q > 0 ? uint32_t(std::min(q, scale)) : 0u);
    total += f[i];
    if (f[i] > f[largest]) largest = i;
  }
  if (total > RangeEncoder::kMaxTotal) f[largest] -= uint32_t(total - RangeEncoder::kMaxTotal);
  cum.resize(V + 1);
  cum[0] = 0;
  for (size_t i = 0; i < V; ++i) cum[i + 1] = cum[i] + f[i];
}

void FrequencyTable::uniform(size_t n) {
  cum.resize(n + 1);
  for (size_t i = 0; i <= n; ++i) cum[i] = uint32_t(i);
}

size_t FrequencyTable::find(uint32_t value) const {
  // The last i with cum[i] <= value (cum[0] = 0 <= value < total = cum[V]).
  const auto it = std::upper_bound(cum.begin(), cum.end(), value);
  return size_t(it - cum.begin()) - 1;
}

}  // namespace ziq::codec
