#include "core/threads.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ziq {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

namespace {

// Threads started once and kept: a model's forward pass makes hundreds of parallel calls of a
// few milliseconds each, and starting 15 threads for each cost more than some of the calls.
// One job at a time; a parallel_for made from inside a job runs on its own thread, serially.
class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool* pool = new ThreadPool;  // never destroyed: workers may still sleep at exit
    return *pool;
  }

  // Runs job() on `helpers` pool threads and on the caller; returns when all have returned.
  void run(int helpers, const std::function<void()>& job) {
    std::lock_guard one_job(dispatch_mu_);
    {
      std::lock_guard lock(mu_);
      while (int(workers_.size()) < helpers) {
        const int index = int(workers_.size());
        workers_.emplace_back([this, index] { work(index); });
        workers_.back().detach();
      }
      job_ = &job;
      wanted_ = helpers;
      remaining_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    in_job = true;
    job();
    in_job = false;
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return remaining_ == 0; });
    job_ = nullptr;
  }

  static thread_local bool in_job;

 private:
  void work(int index) {
    in_job = true;
    uint64_t seen = 0;
    for (;;) {
      const std::function<void()>* job;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (index >= wanted_) continue;
        job = job_;
      }
      (*job)();
      std::lock_guard lock(mu_);
      if (--remaining_ == 0) done_.notify_one();
    }
  }

  std::mutex dispatch_mu_, mu_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void()>* job_ = nullptr;
  int wanted_ = 0, remaining_ = 0;
  uint64_t generation_ = 0;
};

thread_local bool ThreadPool::in_job = false;

}  // namespace

void parallel_for(size_t n, int threads, const std::function<void(size_t, size_t)>& fn, size_t grain) {
  if (n == 0) return;
  grain = std::max<size_t>(grain, 1);
  int t = std::min<size_t>(resolve_threads(threads), (n + grain - 1) / grain);
  if (t <= 1 || ThreadPool::in_job) {
    fn(0, n);
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr first_error;
  std::mutex error_mu;
  const std::function<void()> worker = [&] {
    for (;;) {
      size_t begin = next.fetch_add(grain);
      if (begin >= n) return;
      try {
        fn(begin, std::min(n, begin + grain));
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!first_error) first_error = std::current_exception();
        next.store(n);
        return;
      }
    }
  };
  ThreadPool::instance().run(t - 1, worker);
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace ziq
