// Seeded random weights for benchmark models (Backend::random_matrix): value i of a matrix depends
// only on (seed, i), through a counter-based hash (SplitMix64's finalizer), so every backend and
// every launch shape produces the same matrix. Host and device (nvcc) code.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define ZIQ_HOST_DEVICE __host__ __device__
#else
#define ZIQ_HOST_DEVICE
#endif

namespace ziq::backend {

// Uniform in [-1, 1): the top 24 bits of the hash of (seed, i), centred.
ZIQ_HOST_DEVICE inline float random_uniform(uint64_t seed, uint64_t i) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + i + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return float(int64_t(z >> 40) - (int64_t(1) << 23)) * (1.0f / float(1 << 23));
}

}  // namespace ziq::backend
