// Vector helpers of the CPU backend: exp (the softmaxes and silu spend their time there), max,
// softmax. Written by hand because the C library's expf is scalar; AVX2 (the build's floor) with a
// scalar path for other targets. The polynomial is the classic Cephes expf one (relative error
// about 2e-7, as good as expf for our purposes).
#pragma once

#include <cmath>
#include <cstdint>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ZIQ_VEC_AVX2 1
#endif

namespace ziq::backend::cpu {

// exp(x) = 2^n * e^r with n = round(x * log2(e)), r = x - n * ln 2 (ln 2 in two parts, so r is
// exact), e^r = 1 + r + r^2 * P(r): Cephes expf's constants, shared by every vector width.
namespace exp_poly {
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                         4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
}  // namespace exp_poly

#ifdef ZIQ_VEC_AVX2
inline __m256 exp8(__m256 x) {
  using namespace exp_poly;
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33f)), _mm256_set1_ps(88.37f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kP[0]);
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP[i]));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
#endif

inline float max_of(const float* x, int64_t n) {
  float m = -INFINITY;
  int64_t i = 0;
#ifdef ZIQ_VEC_AVX2
  __m256 vm = _mm256_set1_ps(-INFINITY);
  for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
  alignas(32) float t[8];
  _mm256_store_ps(t, vm);
  for (float v : t) m = std::max(m, v);
#endif
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

// sum exp(x[i] - shift); if `store`, x[i] becomes exp(x[i] - shift).
inline float sum_exp(float* x, int64_t n, float shift, bool store) {
  int64_t i = 0;
  float s = 0;
#ifdef ZIQ_VEC_AVX2
  __m256 vs = _mm256_setzero_ps();
  const __m256 vshift = _mm256_set1_ps(shift);
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vshift));
    if (store) _mm256_storeu_ps(x + i, e);
    vs = _mm256_add_ps(vs, e);
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, vs);
  for (float v : t) s += v;
#endif
  for (; i < n; ++i) {
    const float e = std::exp(x[i] - shift);
    if (store) x[i] = e;
    s += e;
  }
  return s;
}

inline float sum_exp(const float* x, int64_t n, float shift) {
  return sum_exp(const_cast<float*>(x), n, shift, false);
}

inline void softmax_inplace(float* x, int64_t n) {
  const float m = max_of(x, n);
  const float inv = 1.0f / sum_exp(x, n, m, true);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

// gate = silu(gate) * up = gate / (1 + exp(-gate)) * up
inline void silu_mul(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
#ifdef ZIQ_VEC_AVX2
  const __m256 one = _mm256_set1_ps(1.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
  }
#endif
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// x[i] = cap * tanh(x[i] * scale / cap): Gemma 2's softcaps (scale 1 on logits, the attention
// scale on raw scores), in the order transformers computes them. tanh(a) for a = |y|: below 0.5
// its odd Taylor series to a^17 (the first term left out is below 3e-9 of tanh there), else
// 1 - 2 / (exp(2a) + 1) (exp8: relative error about 2e-7); the sign put back.
inline void softcap_inplace(float* x, int64_t n, float scale, float cap) {
  int64_t i = 0;
#ifdef ZIQ_VEC_AVX2
  // tanh(a) = a * (1 + z * (c1 + z * (c2 + ...))), z = a^2: -1/3, 2/15, -17/315, 62/2835,
  // -1382/155925, 21844/6081075, -929569/638512875, 6404582/10854718875.
  constexpr float kC[8] = {-1.0f / 3, 2.0f / 15, -17.0f / 315, 62.0f / 2835, -1382.0f / 155925,
                           21844.0f / 6081075, -929569.0f / 638512875, 6404582.0f / 10854718875};
  const __m256 vscale = _mm256_set1_ps(scale), vcap = _mm256_set1_ps(cap), one = _mm256_set1_ps(1.0f),
               two = _mm256_set1_ps(2.0f), sign = _mm256_set1_ps(-0.0f), small = _mm256_set1_ps(0.5f);
  for (; i + 8 <= n; i += 8) {
    const __m256 y = _mm256_div_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vscale), vcap);
    const __m256 a = _mm256_andnot_ps(sign, y), z = _mm256_mul_ps(a, a);
    __m256 p = _mm256_set1_ps(kC[7]);
    for (int k = 6; k >= 0; --k) p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kC[k]));
    const __m256 series = _mm256_fmadd_ps(_mm256_mul_ps(a, z), p, a);
    const __m256 big = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp8(_mm256_mul_ps(two, a)), one)));
    const __m256 t = _mm256_blendv_ps(big, series, _mm256_cmp_ps(a, small, _CMP_LT_OQ));
    _mm256_storeu_ps(x + i, _mm256_mul_ps(vcap, _mm256_or_ps(t, _mm256_and_ps(y, sign))));
  }
#endif
  for (; i < n; ++i) x[i] = cap * std::tanh(x[i] * scale / cap);
}

// gate = gelu_tanh(gate) * up = 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))) * up (GeGLU, as
// torch's gelu(approximate="tanh")); scalar: only Gemma runs it.
inline void gelu_tanh_mul(float* gate, const float* up, int64_t n) {
  constexpr float kBeta = 0.7978845608028654f;  // sqrt(2 / pi)
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = 0.5f * g * (1.0f + std::tanh(kBeta * (g + 0.044715f * g * g * g))) * up[i];
  }
}

}  // namespace ziq::backend::cpu
