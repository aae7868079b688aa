// Joining the process group that mpirun (Open MPI, MPICH) or srun (Slurm) started, for data
// parallel evaluation (eval/shard.h). ziq decides from the launcher's environment: a world of
// more than one rank means MPI; otherwise ziq runs as one process and MPI is never initialized.
#pragma once

#include <memory>

#include "eval/shard.h"

namespace ziq::dist {

class ProcessGroup : public eval::ShardGroup {
 public:
  virtual int local_rank() const = 0;  // among the ranks on this host (picks the GPU, splits cores)
  virtual int local_size() const = 0;
};

// Ranks the launcher's environment announces (1 when ziq was not started by a launcher).
int launcher_world_size();

// The group of this run, or null when launcher_world_size() is 1. Initializes MPI on first call
// (finalized at exit); a build without MPI refuses a world of several ranks with a clear error.
ProcessGroup* join_launcher_group();

bool built_with_mpi();

}  // namespace ziq::dist
