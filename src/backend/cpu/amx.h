// The AMX tile unit's setup, shared by the matrix products (gemm.cpp) and attention: every kernel
// here configures all 8 tiles as 16 rows x 64 bytes (16 x 32 bf16 operands, 16 x 16 f32
// accumulators). Only for code compiled with target("amx-tile,amx-bf16") on CPUs where
// cpu_has_amx_bf16() (gemm.h) is true.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

namespace ziq::backend::cpu {

struct TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};  // bytes per row of each tile
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// gcc 12's _tile_loadconfig tells the compiler that ldtilecfg reads 8 bytes of the config, and
// _tile_loadd / _tile_stored that tileloadd / tilestored touch no memory, so the stores that fill
// them may be dropped or moved past them (and loads of what they store moved before); these say
// what they touch.
#define ZIQ_TILE_LOAD(tile, base, stride) \
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #tile ::"r"(base), "r"(long(stride)) : "memory")
#define ZIQ_TILE_STORE(tile, base, stride) \
  __asm__ volatile("tilestored %%tmm" #tile ", (%0,%1,1)" ::"r"(base), "r"(long(stride)) : "memory")

__attribute__((target("amx-tile"))) inline void amx_configure() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  __asm__ volatile("ldtilecfg %0" ::"m"(cfg) : "memory");
}

__attribute__((target("amx-tile"))) inline void amx_release() { __asm__ volatile("tilerelease" ::: "memory"); }

}  // namespace ziq::backend::cpu
#endif
