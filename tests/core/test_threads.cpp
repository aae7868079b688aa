#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "core/threads.h"

TEST(ParallelFor, VisitsEveryIndexOnce) {
  std::vector<std::atomic<int>> seen(1000);
  ziq::parallel_for(seen.size(), 4, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) seen[i]++;
  }, 7);
  for (auto& s : seen) EXPECT_EQ(s.load(), 1);
}

TEST(ParallelFor, RethrowsWorkerError) {
  EXPECT_THROW(ziq::parallel_for(100, 3, [](size_t b, size_t) {
                 if (b >= 50) throw std::runtime_error("boom");
               }),
               std::runtime_error);
}
