#include "cli/baseline_view.h"

#include "cli/output.h"

namespace ziq::cli {

void print_baselines(const codec::BaselineReport& r, const std::vector<ModelColumn>& models) {
  std::vector<std::string> header = {"subset", "characters", "bytes"};
  for (auto& m : models) header.push_back(m.name + " BPC");
  for (auto& o : r.overall) header.push_back(std::string(codec::codec_name(o.codec)) + " BPC");
  for (auto& o : r.overall) header.push_back(std::string(codec::codec_name(o.codec)) + " BPB");
  Table t(header);
  const int dec = 4;

  // A model's mean and pooled figures over the subsets it has (pooled weights by characters).
  struct Sums {
    double mean = 0, bits = 0, chars = 0;
    size_t n = 0;
  };
  std::vector<Sums> sums(models.size());
  for (auto& s : r.subsets) {
    std::vector<std::string> row = {s.subset, std::to_string(s.characters), std::to_string(s.bytes)};
    for (size_t i = 0; i < models.size(); ++i) {
      auto it = models[i].bpc.find(s.subset);
      if (it == models[i].bpc.end()) {
        row.push_back("-");
        continue;
      }
      row.push_back(fixed(it->second, dec));
      sums[i].mean += it->second;
      sums[i].bits += it->second * s.characters;
      sums[i].chars += s.characters;
      ++sums[i].n;
    }
    for (auto& c : s.codecs) row.push_back(fixed(c.bpc, dec));
    for (auto& c : s.codecs) row.push_back(fixed(c.bpb, dec));
    t.add(row);
  }
  for (bool pooled : {false, true}) {
    std::vector<std::string> row = {pooled ? "pooled" : "mean", std::to_string(r.characters), std::to_string(r.bytes)};
    for (auto& m : sums)
      row.push_back(m.n == 0 ? "-" : fixed(pooled ? m.bits / m.chars : m.mean / m.n, dec));
    for (auto& o : r.overall) row.push_back(fixed(pooled ? o.pooled_bpc : o.mean_bpc, dec));
    for (auto& o : r.overall) row.push_back(fixed(pooled ? o.pooled_bpb : o.mean_bpb, dec));
    t.add(row);
  }
  t.print();
}

}  // namespace ziq::cli
