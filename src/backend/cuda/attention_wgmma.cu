// Causal attention in bf16 with Hopper's warpgroup MMA (wgmma, sm_90a): the same algorithm as
// attention_bf16.cu (flash-attention 2, see there), with both products issued by a warpgroup of
// 4 warps on 64 query rows:
//   S = Q K^T    wgmma m64 n BN k16, Q from registers (loaded once), K from shared memory
//   softmax      in registers, as in flash_common.cuh (the accumulator layout is mma.sync's)
//   O += P V     wgmma m64 n D k16, P from registers, V from shared memory read transposed
// K and V tiles are copied with cp.async, double-buffered, into the layout the wgmma descriptors
// read: 64-column panels of 128-byte rows with the 128-byte swizzle (16-byte chunk c of row r
// stored at chunk c ^ (r % 8)), 1024-byte aligned. A block has 1 or 2 warpgroups (64 or 128 query
// rows) sharing the K/V tiles; 2 blocks of one warpgroup per SM let one block's softmax overlap the
// other's products.
//
// Built for sm_90a only (a separate library in CMakeLists.txt); attention_bf16.cu runs it on
// compute capability 9.0 devices.
#include "backend/cuda/flash_common.cuh"

#include <type_traits>

namespace ziq::backend::cuda::flash {
namespace {

#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || !defined(__CUDA_ARCH__)
#define ZIQ_WGMMA 1
#endif

// Byte offset of 16-byte chunk c of row r in a tile of `rows` rows: 64-column panels of 128-byte
// rows, swizzled (the canonical 128-byte-swizzle layout of wgmma operands).
__device__ __forceinline__ uint32_t swizzled(int r, int c, int rows) {
  return uint32_t((c >> 3) * rows * 128 + r * 128 + (((c & 7) ^ (r & 7)) << 4));
}

// A shared-memory matrix descriptor: address, leading and stride byte offsets, 128-byte swizzle.
__device__ __forceinline__ uint64_t descriptor(uint32_t addr, uint32_t lead, uint32_t stride) {
  return uint64_t((addr & 0x3ffff) >> 4) | uint64_t(lead >> 4) << 16 | uint64_t(stride >> 4) << 32 |
         uint64_t(1) << 62;
}

__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

#ifdef ZIQ_WGMMA
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }

// After wgmma_wait_all: the accumulators are read only from here on (the asm statements above
// produced them as far as the compiler knows).
template <int NT>
__device__ __forceinline__ void fence_operands(float (&d)[NT][4]) {
#pragma unroll
  for (int j = 0; j < NT; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(d[j][e])::"memory");
}

// d (64 x N, f32) = a (64 x 16, bf16 registers) b (16 x N, bf16 in shared memory) (+ d if accumulate);
// kTransB: b is MN-major (N contiguous), else K-major. Each warp holds rows 16w .. 16w + 15 of d and
// a in the m16n8 fragment layout.
template <int kTransB>
__device__ __forceinline__ void wgmma_m64n64(float (&d)[8][4], const uint32_t (&a)[4], uint64_t b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "{%32, %33, %34, %35}, %36, p, 1, 1, %38;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]),
        "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]),
        "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]),
        "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]),
        "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]),
        "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),
        "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]),
        "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate), "n"(kTransB));
}

template <int kTransB>
__device__ __forceinline__ void wgmma_m64n128(float (&d)[16][4], const uint32_t (&a)[4], uint64_t b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "{%64, %65, %66, %67}, %68, p, 1, 1, %70;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]),
        "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]),
        "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]),
        "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]),
        "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]),
        "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),
        "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]),
        "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]),
        "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]),
        "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]),
        "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]),
        "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]),
        "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]),
        "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]),
        "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]),
        "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate), "n"(kTransB));
}

template <int N, int kTransB>
__device__ __forceinline__ void wgmma_rs(float (&d)[N / 8][4], const uint32_t (&a)[4], uint64_t b, int accumulate) {
  if constexpr (N == 64) wgmma_m64n64<kTransB>(d, a, b, accumulate);
  else wgmma_m64n128<kTransB>(d, a, b, accumulate);
}
#endif

template <int D, int BN, int NWG, bool kOverlap>
struct Wg {
  static_assert((D == 64 || D == 128) && BN == 64, "wgmma tile shape");
  static constexpr int kThreads = 128 * NWG;
  static constexpr int BM = 64 * NWG;
  static constexpr int kChunks = D / 8;
  static constexpr uint32_t kQBytes = BM * D * 2, kKVBytes = BN * D * 2;
  // Q, K x 2, V x 2, and up to 1024 bytes to align the start.
  static constexpr size_t kSmemBytes = kQBytes + 4 * size_t(kKVBytes) + 1024;
};

template <int D, int BN, int NWG, bool kOverlap>
__global__ void __launch_bounds__(128 * NWG, NWG == 1 ? 2 : 1) wgmma_kernel(const Params p) {
#ifdef ZIQ_WGMMA
  using C = Wg<D, BN, NWG, kOverlap>;
  constexpr int BM = C::BM;
  extern __shared__ unsigned char smem[];
  const uint32_t raw = smem_addr(smem);
  const uint32_t sQ = (raw + 1023) & ~1023u;  // swizzled tiles need 1024-byte alignment
  const uint32_t sK = sQ + C::kQBytes;        // [2] tiles of BN rows
  const uint32_t sV = sK + 2 * C::kKVBytes;   // [2] tiles of BN rows
  unsigned char* q_tile = smem + (sQ - raw);  // generic pointer: the output is staged there

  const int head = blockIdx.x;
  const DevSeqSpan seq = p.seqs[blockIdx.z];
  const int len = int(seq.length);
  const int q0 = int(gridDim.y - 1 - blockIdx.y) * BM;  // the longest blocks start first
  if (q0 >= len) return;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int wrow = warp * 16;  // the warp's 16 rows (warpgroup w / 4 owns rows 64 (w / 4) ..)
  const int window = clamp_window(p.window, len);
  const auto [tile0, n_tiles] = key_tiles(q0, BM, len, window, BN);

  const int chunks = p.head_dim / 8;
  const auto [qg, kg, vg] = head_slices(p, seq, head);

  // Rows [r0, r0 + ROWS) of a head slice into a swizzled tile; rows past the sequence and columns
  // past head_dim become zeros.
  auto load_tile = [&](uint32_t dst, const bf16* src, int64_t ld, int r0, auto rows_c) {
    constexpr int kItems = decltype(rows_c)::value * C::kChunks;
    static_assert(kItems % C::kThreads == 0, "whole passes");
#pragma unroll
    for (int n = 0; n < kItems / C::kThreads; ++n) {
      const int i = tid + n * C::kThreads;
      const int r = i / C::kChunks, c = i % C::kChunks;
      const bool ok = r0 + r < len && c < chunks;
      cp_async16(dst + swizzled(r, c, decltype(rows_c)::value), ok ? src + int64_t(r0 + r) * ld + c * 8 : src, ok);
    }
  };
  using RowsBM = std::integral_constant<int, BM>;
  using RowsBN = std::integral_constant<int, BN>;

  // S = Q K^T into d, issued and committed, not waited for. Q's A fragments are re-read from
  // shared memory each time (a few ldmatrix): kept in registers across the loop instead, ptxas 13.0
  // was seen giving those registers to P's fragments after the first tile (d 64, BN 64), a wrong
  // result. K-step kk reads 32 bytes of each K row inside panel kk / 4; the panel's 8-row groups
  // are 1024 bytes apart.
  auto issue_s = [&](float (&d)[BN / 8][4], uint32_t k_tile) {
    uint32_t qf[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
      ldmatrix_x4(sQ + swizzled(wrow + (lane & 15), 2 * kk + (lane >> 4), BM), qf[kk]);
    // d starts at zero (the first product does not add it; zeroed so that nothing reads an
    // unset value).
#pragma unroll
    for (int j = 0; j < BN / 8; ++j) d[j][0] = d[j][1] = d[j][2] = d[j][3] = 0.f;
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
      wgmma_rs<BN, 0>(d, qf[kk], descriptor(k_tile + (kk >> 2) * BN * 128 + (kk & 3) * 32, 16, 1024), kk > 0);
    wgmma_commit();
  };
  float o[D / 8][4];
#pragma unroll
  for (int j = 0; j < D / 8; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
  const int row_lo = q0 + wrow, row_hi = row_lo + 15;
  // Mask, softmax, then O += P V issued and committed: V read MN-major (d contiguous); k-step kk
  // is keys 16kk .. 16kk + 15, 2048 bytes into each panel; panels (64 columns of d) are BN * 128
  // bytes apart.
  auto softmax_issue_pv = [&](float (&sc)[BN / 8][4], int k0, uint32_t v_tile) {
    if (k0 + BN - 1 > row_lo || k0 + BN > len || (window > 0 && k0 <= row_hi - window))
      mask_tile(sc, row_lo + g, k0 + 2 * t, len, window);
    softmax_tile(sc, o, row_max, row_sum, p.score_scale);
    uint32_t pf[BN / 16][4];
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) p_fragment(sc, kk, pf[kk]);
    fence_operands(o);  // the rescaled O is written before the fence
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk)
      wgmma_rs<D, 1>(o, pf[kk], descriptor(v_tile + kk * 2048, BN * 128, 1024), 1);
    wgmma_commit();
  };
  auto k_buf = [&](int i) { return sK + (i & 1) * C::kKVBytes; };
  auto v_buf = [&](int i) { return sV + (i & 1) * C::kKVBytes; };

  if constexpr (!kOverlap) {
    // Per tile: wait for its K and V, S, softmax, P V, each waited for in turn; the next tile's
    // copies run meanwhile.
    load_tile(sQ, qg, p.ldq, q0, RowsBM{});
    load_tile(k_buf(0), kg, p.ldk, tile0 * BN, RowsBN{});
    load_tile(v_buf(0), vg, p.ldv, tile0 * BN, RowsBN{});
    cp_async_commit();
    for (int it = 0; it < n_tiles; ++it) {
      const int k0 = (tile0 + it) * BN;
      cp_async_wait_all();
      fence_proxy_async();  // this thread's copies, visible to the tensor cores too
      // Tile `it` is complete for every thread; every warpgroup is done with tile it-1, whose
      // buffers the copy below refills.
      __syncthreads();
      if (it + 1 < n_tiles) {
        load_tile(k_buf(it + 1), kg, p.ldk, k0 + BN, RowsBN{});
        load_tile(v_buf(it + 1), vg, p.ldv, k0 + BN, RowsBN{});
      }
      cp_async_commit();
      float sc[BN / 8][4];
      issue_s(sc, k_buf(it));
      wgmma_wait_all();
      fence_operands(sc);
      softmax_issue_pv(sc, k0, v_buf(it));
      wgmma_wait_all();
      fence_operands(o);
    }
  } else {
    // The next tile's S product is issued before this tile's softmax, so the tensor cores work
    // while the softmax runs. Copy groups: {Q, K_0}, then for each tile j {V_j, K_{j+1}}, issued
    // one tile ahead.
    load_tile(sQ, qg, p.ldq, q0, RowsBM{});
    load_tile(k_buf(0), kg, p.ldk, tile0 * BN, RowsBN{});
    cp_async_commit();
    load_tile(v_buf(0), vg, p.ldv, tile0 * BN, RowsBN{});
    if (n_tiles > 1) load_tile(k_buf(1), kg, p.ldk, (tile0 + 1) * BN, RowsBN{});
    cp_async_commit();
    cp_async_wait<1>();
    fence_proxy_async();
    __syncthreads();
    float sc[BN / 8][4];
    issue_s(sc, k_buf(0));
    wgmma_wait_all();
    fence_operands(sc);
    for (int it = 0; it < n_tiles; ++it) {
      const int k0 = (tile0 + it) * BN;
      cp_async_wait_all();
      fence_proxy_async();
      // V_it and K_it+1 are complete for every thread; every warpgroup is done with tile it-1
      // (its P V product and this tile's S product were waited for): V_it-1's and K_it's buffers
      // are free for V_it+1 and K_it+2.
      __syncthreads();
      if (it + 1 < n_tiles) load_tile(v_buf(it + 1), vg, p.ldv, k0 + BN, RowsBN{});
      if (it + 2 < n_tiles) load_tile(k_buf(it + 2), kg, p.ldk, k0 + 2 * BN, RowsBN{});
      cp_async_commit();
      float next[BN / 8][4];
      if (it + 1 < n_tiles) issue_s(next, k_buf(it + 1));
      softmax_issue_pv(sc, k0, v_buf(it));
      wgmma_wait_all();
      fence_operands(o);
      if (it + 1 < n_tiles) {
        fence_operands(next);
#pragma unroll
        for (int j = 0; j < BN / 8; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) sc[j][e] = next[j][e];
      }
    }
  }
  cp_async_wait_all();

  // O / l to bf16 in the warp's own rows of the Q tile (same swizzled layout), then 16-byte stores.
  float inv[2];
  row_inverse(row_sum, inv);
  __syncwarp();
#pragma unroll
  for (int h = 0; h < 2; ++h)
#pragma unroll
    for (int j = 0; j < D / 8; ++j)
      *reinterpret_cast<uint32_t*>(q_tile + swizzled(wrow + g + 8 * h, j, BM) + 4 * t) =
          pack_bf16x2(o[j][2 * h] * inv[h], o[j][2 * h + 1] * inv[h]);
  __syncwarp();
  bf16* og = p.o + seq.offset * p.ldo + int64_t(head) * p.head_dim;
  for (int i = lane; i < 16 * chunks; i += 32) {
    const int r = i / chunks, c = i - r * chunks;
    if (row_lo + r < len)
      *reinterpret_cast<uint4*>(og + int64_t(row_lo + r) * p.ldo + c * 8) =
          *reinterpret_cast<const uint4*>(q_tile + swizzled(wrow + r, c, BM));
  }
#else
  __trap();  // built without sm_90a: never launched (wgmma_launch's caller checks the device)
#endif
}

template <int D, int BN, int NWG, bool kOverlap>
void launch(const Params& p, int n_heads, int n_seqs, int64_t max_len, cudaStream_t s) {
  using C = Wg<D, BN, NWG, kOverlap>;
  auto kernel = wgmma_kernel<D, BN, NWG, kOverlap>;
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(C::kSmemBytes)),
             "attention: shared memory limit");
  const dim3 grid(unsigned(n_heads), unsigned((max_len + C::BM - 1) / C::BM), unsigned(n_seqs));
  kernel<<<grid, C::kThreads, C::kSmemBytes, s>>>(p);
  check_launch("attention (bf16, wgmma)");
}

}  // namespace

Launch wgmma_launch(int d, int bn, int warpgroups, bool overlap) {
  if (bn != 64 || (warpgroups != 1 && warpgroups != 2)) return nullptr;
  if (d == 64) {
    if (overlap) return warpgroups == 1 ? launch<64, 64, 1, true> : launch<64, 64, 2, true>;
    return warpgroups == 1 ? launch<64, 64, 1, false> : launch<64, 64, 2, false>;
  }
  if (d == 128) {
    if (overlap) return warpgroups == 1 ? launch<128, 64, 1, true> : launch<128, 64, 2, true>;
    return warpgroups == 1 ? launch<128, 64, 1, false> : launch<128, 64, 2, false>;
  }
  return nullptr;
}

}  // namespace ziq::backend::cuda::flash
