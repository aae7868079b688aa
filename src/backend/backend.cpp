// What every build has of the backends' entry points; without CUDA (ZIQ_HAVE_CUDA unset) the cuda
// ones say so.
#include "backend/backend.h"

#include "core/error.h"

namespace ziq::backend {

#ifndef ZIQ_HAVE_CUDA
bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
std::unique_ptr<Backend> make_cuda_backend(int, const std::string&) {
  usage_error("--backend cuda: this build of ziq has no CUDA backend (rebuild where nvcc is installed)");
}
#endif

}  // namespace ziq::backend
