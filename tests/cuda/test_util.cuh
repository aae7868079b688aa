// Helpers for the CUDA kernel tests: device buffers that check every CUDA call, seeded random
// inputs, bf16 rounding on the host, NaN poisoning (a kernel that skips an element leaves NaN
// behind), and error measures against double-precision references.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ziq::backend::cuda::test {

using bf16 = __nv_bfloat16;

// A failed CUDA call fails the test and stops it (gtest reports the exception).
inline void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}
#define CUDA_OK(call) ::ziq::backend::cuda::test::cuda_ok((call), #call)

// Waits for the stream and surfaces any asynchronous kernel fault.
inline void sync() {
  CUDA_OK(cudaGetLastError());
  CUDA_OK(cudaDeviceSynchronize());
}

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) { CUDA_OK(cudaMalloc(&p_, std::max<size_t>(n, 1) * sizeof(T))); }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    if (host.size() != n_) throw std::runtime_error("upload: size mismatch");
    CUDA_OK(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    sync();
    std::vector<T> host(n_);
    CUDA_OK(cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
  // All bytes 0xFF: NaN as float, bf16 and double, -1 as an integer.
  void poison() { CUDA_OK(cudaMemset(p_, 0xFF, n_ * sizeof(T))); }

 private:
  T* p_ = nullptr;
  size_t n_;
};

inline float to_float(float x) { return x; }
inline float to_float(bf16 x) { return __bfloat162float(x); }
template <typename T>
T from_float(float x);
template <>
inline float from_float<float>(float x) { return x; }
template <>
inline bf16 from_float<bf16>(float x) { return __float2bfloat16_rn(x); }

template <typename T>
std::vector<T> convert(const std::vector<float>& x) {
  std::vector<T> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = from_float<T>(x[i]);
  return y;
}
template <typename T>
std::vector<float> to_floats(const std::vector<T>& x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = to_float(x[i]);
  return y;
}
// The values a T buffer actually holds (bf16-rounded for bf16).
template <typename T>
std::vector<float> representable(const std::vector<float>& x) {
  return to_floats(convert<T>(x));
}

inline std::vector<float> uniform(size_t n, std::mt19937_64& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Normalized errors: NMSE = sum (got - ref)^2 / sum ref^2 and max |got - ref| / max |ref|;
// `unwritten` counts NaNs (poison left behind) and non-finite values.
struct Errors {
  double nmse = 0, max_rel = 0;
  size_t bad = 0;
};
inline Errors errors(const std::vector<float>& got, const std::vector<double>& ref) {
  double se = 0, sr = 0, me = 0, mr = 0;
  Errors e;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) {
      ++e.bad;
      continue;
    }
    const double d = double(got[i]) - ref[i];
    se += d * d;
    sr += ref[i] * ref[i];
    me = std::max(me, std::fabs(d));
    mr = std::max(mr, std::fabs(ref[i]));
  }
  e.nmse = sr > 0 ? se / sr : se;
  e.max_rel = mr > 0 ? me / mr : me;
  return e;
}
#define EXPECT_ERRORS(e, nmse_bar, rel_bar, what)                                                      \
  do {                                                                                                 \
    EXPECT_EQ((e).bad, 0u) << what << ": unwritten or non-finite outputs";                             \
    EXPECT_LT((e).nmse, nmse_bar) << what;                                                             \
    EXPECT_LT((e).max_rel, rel_bar) << what;                                                           \
  } while (0)

// Elementwise bf16 results: within one bf16 unit in the last place of the double reference (the
// float math before the one rounding may tip a tie, never more).
inline size_t bf16_ulp_misses(const std::vector<float>& got, const std::vector<double>& ref) {
  size_t miss = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double r = ref[i];
    const double ulp = r == 0 ? 1e-38 : std::ldexp(1.0, std::ilogb(r) - 7);
    if (!(std::fabs(double(got[i]) - r) <= ulp)) ++miss;
  }
  return miss;
}

// Runs f(i) for i in [0, n) on all cores (references of the larger tests).
template <typename F>
void parallel_for(int64_t n, F&& f) {
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(n, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int64_t i = t; i < n; i += threads) f(i);
    });
  for (auto& th : pool) th.join();
}

}  // namespace ziq::backend::cuda::test
