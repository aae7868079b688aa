// Data parallelism over processes: the ranks of one evaluation split its batches and exchange the
// per-window nats, so every rank ends with every window's figure and the totals are summed in
// window order, the same bits as a one-process run. The scorer sees only this interface;
// src/dist/ implements it over MPI (ranks from mpirun or srun).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ziq::eval {

// One finished window: its subset (index in PreparedCorpus::subsets), window index and nats.
struct ScoredWindow {
  int64_t subset = 0;
  int64_t window = 0;
  double nats = 0;
};

class ShardGroup {
 public:
  virtual ~ShardGroup() = default;
  virtual int rank() const = 0;  // 0 is the lead: it owns the results store and the output
  virtual int size() const = 0;
  // Collective: every rank's windows, concatenated in rank order, on every rank.
  virtual std::vector<ScoredWindow> all_gather(std::span<const ScoredWindow> mine) = 0;
  // Collective: rank 0's windows replace every other rank's.
  virtual void broadcast(std::vector<ScoredWindow>& windows) = 0;
  // Collective: true on every rank when `flag` is true on any.
  virtual bool any(bool flag) = 0;
  // Collective: the smallest of every rank's value.
  virtual int64_t min(int64_t value) = 0;
};

}  // namespace ziq::eval
