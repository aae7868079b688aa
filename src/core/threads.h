// Minimal parallelism: run a function over [0, n) on up to `threads` OS threads. Chunks are
// handed out dynamically, so uneven work (documents of different lengths) balances itself.
// The first exception thrown by any worker is rethrown on the caller's thread.
#pragma once

#include <cstddef>
#include <functional>

namespace ziq {

// 0 = all hardware threads.
int resolve_threads(int requested);

void parallel_for(size_t n, int threads, const std::function<void(size_t begin, size_t end)>& fn,
                  size_t grain = 1);

}  // namespace ziq
