// Host-side conversions every backend uses when it loads a checkpoint matrix: f16/bf16/f32 rows of
// a HostMatrix (possibly a column slice, possibly several stacked parts) into contiguous float32
// or bf16. Exact except f32 -> bf16, which rounds to nearest even as the hardware does.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "backend/backend.h"

namespace ziq::backend {

float f16_to_f32(uint16_t h);

inline float bf16_bits_to_f32(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even (finite inputs; NaN stays NaN).
inline uint16_t f32_to_bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7FFF + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

// Element (r, c) of a host matrix as float32.
float host_value(const HostMatrix& m, int64_t r, int64_t c);

// Rows of the stacked parts, row-major [sum of rows, cols], into out.
void stack_to_f32(std::span<const HostMatrix> parts, float* out);
void stack_to_bf16(std::span<const HostMatrix> parts, uint16_t* out);

// The stacked shape; errors (internal) when the parts' widths differ.
int64_t stacked_rows(std::span<const HostMatrix> parts);

}  // namespace ziq::backend
