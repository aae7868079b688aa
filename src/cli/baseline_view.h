// Printing classic-compressor baselines (codec/classic.h) as a table, optionally beside the BPC
// of models on the same text, so every model figure can be read against gzip, xz and zstd.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "codec/classic.h"

namespace ziq::cli {

struct ModelColumn {
  std::string name;                   // column header, e.g. "llama-2-7b"
  std::map<std::string, double> bpc;  // per subset (subsets missing here print "-")
};

// One row per subset, then "mean" (average of the subsets, the paper's way) and "pooled" (all
// bits over all characters). Columns: characters, bytes, each model's BPC, each codec's BPC, then
// each codec's bits per byte.
void print_baselines(const codec::BaselineReport& report, const std::vector<ModelColumn>& models = {});

}  // namespace ziq::cli
