#include "core/threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
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
// Between jobs the threads spin for a while (kSpin) before they sleep on a condition variable,
// and the caller spins for their completion the same way: waking 15 sleeping threads through
// one mutex cost tens of microseconds per call, hundreds of times per forward pass (OpenMP
// runtimes spin for the same reason). One job at a time; a parallel_for made from inside a job
// runs on its own thread, serially.
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
      remaining_.store(helpers, std::memory_order_relaxed);
      // The generation and the number of helpers wanted in one word, so a worker that reads a
      // generation also reads its own job's helper count.
      const uint64_t gen = (state_.load(std::memory_order_relaxed) >> 16) + 1;
      state_.store(gen << 16 | uint64_t(helpers), std::memory_order_release);
    }
    wake_.notify_all();
    in_job = true;
    job();
    in_job = false;
    if (!spin_until([&] { return remaining_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock lock(mu_);
      done_.wait(lock, [&] { return remaining_.load(std::memory_order_acquire) == 0; });
    }
  }

  static thread_local bool in_job;

 private:
  static constexpr auto kSpin = std::chrono::milliseconds(1);

  // Polls done() for up to kSpin; true once it holds.
  template <typename Done>
  static bool spin_until(Done&& done) {
    const auto give_up = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0;; ++i) {
      if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (i % 256 == 255) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::yield();  // on a machine with more threads than cores, others run
      }
    }
  }

  void work(int index) {
    in_job = true;
    uint64_t seen = 0;  // generation of the last job seen
    for (;;) {
      auto fresh = [&] { return state_.load(std::memory_order_acquire) >> 16 != seen; };
      if (!spin_until(fresh)) {
        std::unique_lock lock(mu_);
        wake_.wait(lock, fresh);
      }
      const uint64_t state = state_.load(std::memory_order_acquire);
      seen = state >> 16;
      if (index >= int(state & 0xFFFF)) continue;  // not wanted for this job
      (*job_)();  // job_ stays put until this thread's decrement below
      if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lock(mu_);  // the caller checks remaining_ under mu_ before it sleeps
        done_.notify_one();
      }
    }
  }

  std::mutex dispatch_mu_, mu_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void()>* job_ = nullptr;
  std::atomic<uint64_t> state_{0};  // generation << 16 | helpers wanted
  std::atomic<int> remaining_{0};
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
