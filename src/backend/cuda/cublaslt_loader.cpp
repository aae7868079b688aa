// cuBLASLt, loaded when the CUDA backend first calls it rather than when ziq starts.
//
// Linked the usual way, libcublasLt.so (~500 MB, some 360,000 relocations) was mapped and
// relocated at every start of ziq, GPU or not: ~100 ms of system time per command, most of the
// time of `ziq windows` or `ziq tokenize`, and minutes over a test suite that runs ziq thousands of
// times. Here the cuBLASLt functions the backend uses are defined with their header's signatures
// and forward to the library, opened with dlopen on first use (LD_LIBRARY_PATH and the usual
// search apply; the soname follows the headers' major version).
#include <cublasLt.h>
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "core/error.h"

namespace {

const std::string kSoname = "libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR);

void* library() {
  static void* handle = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    handle = dlopen(kSoname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      ziq::usage_error("the CUDA backend needs {} (cuBLASLt, from the CUDA toolkit or the nvidia-cublas "
                       "Python package): {}; add its folder to LD_LIBRARY_PATH",
                       kSoname, dlerror());
  });
  return handle;
}

template <typename Fn>
Fn* symbol(const char* name) {
  void* p = dlsym(library(), name);
  if (!p) ziq::usage_error("{} has no {}: a cuBLASLt older than this build's headers", kSoname, name);
  return reinterpret_cast<Fn*>(p);
}

}  // namespace

// Each forwarder looks its symbol up once.
#define ZIQ_CUBLASLT_FORWARD(name, params, args)             \
  cublasStatus_t CUBLASWINAPI name params {                  \
    static auto* const fn = symbol<decltype(name)>(#name);   \
    return fn args;                                          \
  }

ZIQ_CUBLASLT_FORWARD(cublasLtCreate, (cublasLtHandle_t * handle), (handle))
ZIQ_CUBLASLT_FORWARD(cublasLtDestroy, (cublasLtHandle_t handle), (handle))
ZIQ_CUBLASLT_FORWARD(cublasLtMatmul,
                     (cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* alpha, const void* A,
                      cublasLtMatrixLayout_t Adesc, const void* B, cublasLtMatrixLayout_t Bdesc, const void* beta,
                      const void* C, cublasLtMatrixLayout_t Cdesc, void* D, cublasLtMatrixLayout_t Ddesc,
                      const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspace_bytes, cudaStream_t stream),
                     (handle, desc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc, algo, workspace,
                      workspace_bytes, stream))
ZIQ_CUBLASLT_FORWARD(cublasLtMatmulAlgoGetHeuristic,
                     (cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t Adesc,
                      cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc,
                      cublasLtMatmulPreference_t preference, int requested, cublasLtMatmulHeuristicResult_t results[],
                      int* returned),
                     (handle, desc, Adesc, Bdesc, Cdesc, Ddesc, preference, requested, results, returned))
ZIQ_CUBLASLT_FORWARD(cublasLtMatmulDescCreate,
                     (cublasLtMatmulDesc_t * desc, cublasComputeType_t compute, cudaDataType_t scale),
                     (desc, compute, scale))
ZIQ_CUBLASLT_FORWARD(cublasLtMatmulDescDestroy, (cublasLtMatmulDesc_t desc), (desc))
ZIQ_CUBLASLT_FORWARD(cublasLtMatmulDescSetAttribute,
                     (cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const void* buf, size_t bytes),
                     (desc, attr, buf, bytes))
ZIQ_CUBLASLT_FORWARD(cublasLtMatmulPreferenceCreate, (cublasLtMatmulPreference_t * pref), (pref))
ZIQ_CUBLASLT_FORWARD(cublasLtMatmulPreferenceDestroy, (cublasLtMatmulPreference_t pref), (pref))
ZIQ_CUBLASLT_FORWARD(cublasLtMatmulPreferenceSetAttribute,
                     (cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, const void* buf,
                      size_t bytes),
                     (pref, attr, buf, bytes))
ZIQ_CUBLASLT_FORWARD(cublasLtMatrixLayoutCreate,
                     (cublasLtMatrixLayout_t * layout, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld),
                     (layout, type, rows, cols, ld))
ZIQ_CUBLASLT_FORWARD(cublasLtMatrixLayoutDestroy, (cublasLtMatrixLayout_t layout), (layout))
