#pragma once
// SerialExecutor: one thread that runs posted closures in order. A JobMaster runs all its logic
// on one of these so that its state needs no locks (Flink's RpcEndpoint main-thread model).
//
// Lifecycle: started in the constructor; Shutdown() (or the destructor) drains nothing further,
// runs what is already queued, and joins. Post/Call are thread-safe. Call() from the executor's
// own thread runs the function at once. After Shutdown, Post drops the function (returns false)
// and Call runs it on the calling thread once the queue has drained, one caller at a time, so a
// late caller (an RPC arriving while a daemon stops) still gets an answer from the final state
// rather than a broken promise.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace sluice {

class SerialExecutor {
 public:
  SerialExecutor();
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  // Queues `fn`; returns false if the executor was shut down (fn is dropped).
  bool Post(std::function<void()> fn);

  // Runs `fn` on the executor thread and waits for its result.
  template <typename F>
  auto Call(F&& fn) -> decltype(fn()) {
    using R = decltype(fn());
    std::packaged_task<R()> task(std::forward<F>(fn));
    auto fut = task.get_future();
    if (InExecutorThread()) {
      task();
    } else {
      auto shared = std::make_shared<std::packaged_task<R()>>(std::move(task));
      if (!Post([shared] { (*shared)(); })) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return drained_; });
        std::lock_guard late(late_mu_);
        lock.unlock();
        (*shared)();
      }
    }
    return fut.get();
  }

  bool InExecutorThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  void Shutdown();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  bool drained_ = false;  // the thread ran its last function
  std::mutex late_mu_;    // serialises Calls that run after Shutdown
  std::thread thread_;
};

}  // namespace sluice
