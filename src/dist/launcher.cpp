#include "dist/launcher.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

#ifdef ZIQ_HAVE_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only: the C++ bindings need a library of their own
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace ziq::dist {

int launcher_world_size() {
  // Open MPI's mpirun, MPICH/Hydra and PMI-2 (srun --mpi=pmi2), PMIx (srun --mpi=pmix, prterun).
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    const char* v = std::getenv(var);
    if (!v || !*v) continue;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end || n < 1) input_error("environment: {}={} is not a rank count", var, v);
    return int(n);
  }
  return 1;
}

bool built_with_mpi() {
#ifdef ZIQ_HAVE_MPI
  return true;
#else
  return false;
#endif
}

#ifdef ZIQ_HAVE_MPI
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  internal_error("MPI: {} failed: {}", what, std::string(text, size_t(len)));
}

class MpiGroup final : public ProcessGroup {
 public:
  MpiGroup() {
    check(MPI_Init(nullptr, nullptr), "MPI_Init");
    std::atexit([] {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    });
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
    MPI_Comm local;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
          "MPI_Comm_split_type");
    check(MPI_Comm_rank(local, &local_rank_), "MPI_Comm_rank (host)");
    check(MPI_Comm_size(local, &local_size_), "MPI_Comm_size (host)");
    MPI_Comm_free(&local);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }

  // Windows travel as bytes: ScoredWindow is plain data and every rank runs the same build.
  std::vector<eval::ScoredWindow> all_gather(std::span<const eval::ScoredWindow> mine) override {
    const int bytes = int(mine.size_bytes());
    std::vector<int> counts(size_), offsets(size_);
    check(MPI_Allgather(&bytes, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
    int total = 0;
    for (int r = 0; r < size_; ++r) offsets[r] = total, total += counts[r];
    std::vector<eval::ScoredWindow> all(size_t(total) / sizeof(eval::ScoredWindow));
    check(MPI_Allgatherv(mine.data(), bytes, MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE,
                         MPI_COMM_WORLD),
          "MPI_Allgatherv");
    return all;
  }
  void broadcast(std::vector<eval::ScoredWindow>& windows) override {
    long long n = static_cast<long long>(windows.size());
    check(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
    windows.resize(size_t(n));
    check(MPI_Bcast(windows.data(), int(n * sizeof(eval::ScoredWindow)), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }
  bool any(bool flag) override {
    int in = flag, out = 0;
    check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD), "MPI_Allreduce");
    return out != 0;
  }
  int64_t min(int64_t value) override {
    long long in = value, out = 0;
    check(MPI_Allreduce(&in, &out, 1, MPI_LONG_LONG, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
    return out;
  }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace
#endif

ProcessGroup* join_launcher_group() {
  const int world = launcher_world_size();
  if (world <= 1) return nullptr;
#ifdef ZIQ_HAVE_MPI
  static MpiGroup group;  // one per process; MPI cannot be initialized twice
  return &group;
#else
  usage_error("started as one of {} ranks (by mpirun or srun), but this ziq was built without MPI: install "
              "libopenmpi-dev and rebuild",
              world);
#endif
}

}  // namespace ziq::dist
