#include "backend/host_convert.h"

#include "core/error.h"

namespace ziq::backend {

size_t dtype_bytes(DType t) { return t == DType::f32 ? 4 : 2; }

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000 | (mant << 13);  // inf, nan
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3FF) << 13;
    }
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float host_value(const HostMatrix& m, int64_t r, int64_t c) {
  const int64_t i = r * m.ld + c;
  switch (m.dtype) {
    case DType::f32: {
      float f;
      std::memcpy(&f, static_cast<const char*>(m.data) + 4 * i, 4);
      return f;
    }
    case DType::bf16: {
      uint16_t v;
      std::memcpy(&v, static_cast<const char*>(m.data) + 2 * i, 2);
      return bf16_bits_to_f32(v);
    }
    case DType::f16: {
      uint16_t v;
      std::memcpy(&v, static_cast<const char*>(m.data) + 2 * i, 2);
      return f16_to_f32(v);
    }
  }
  return 0;
}

int64_t stacked_rows(std::span<const HostMatrix> parts) {
  if (parts.empty()) internal_error("load_matrix: no parts");
  int64_t rows = 0;
  for (const HostMatrix& p : parts) {
    if (p.cols != parts[0].cols || p.ld < p.cols)
      internal_error("load_matrix: parts of widths {} and {} (ld {})", parts[0].cols, p.cols, p.ld);
    rows += p.rows;
  }
  return rows;
}

void stack_to_f32(std::span<const HostMatrix> parts, float* out) {
  for (const HostMatrix& p : parts)
    for (int64_t r = 0; r < p.rows; ++r, out += p.cols) {
      if (p.dtype == DType::f32) {
        std::memcpy(out, static_cast<const float*>(p.data) + r * p.ld, size_t(p.cols) * 4);
        continue;
      }
      const uint16_t* src = static_cast<const uint16_t*>(p.data) + r * p.ld;
      for (int64_t c = 0; c < p.cols; ++c) out[c] = p.dtype == DType::bf16 ? bf16_bits_to_f32(src[c]) : f16_to_f32(src[c]);
    }
}

void stack_to_bf16(std::span<const HostMatrix> parts, uint16_t* out) {
  for (const HostMatrix& p : parts)
    for (int64_t r = 0; r < p.rows; ++r, out += p.cols) {
      if (p.dtype == DType::bf16) {
        std::memcpy(out, static_cast<const uint16_t*>(p.data) + r * p.ld, size_t(p.cols) * 2);
        continue;
      }
      for (int64_t c = 0; c < p.cols; ++c) out[c] = f32_to_bf16_bits(host_value(p, r, c));
    }
}

}  // namespace ziq::backend
