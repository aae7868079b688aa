// The CUDA kernels' error path (common.cuh): compiled by the host compiler, which takes fmt's
// headers (nvcc's front end does not).
#include <string>

#include "core/error.h"

namespace ziq::backend::cuda {

[[noreturn]] void fail(const std::string& message) { throw Error(ErrorKind::internal, message); }

}  // namespace ziq::backend::cuda
