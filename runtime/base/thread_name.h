#pragma once
// Names the calling thread for `top -H`, `perf`, `gdb` and /proc/<pid>/task/*/comm (Linux's
// pthread_setname_np). Like Flink, which names each task's thread after the task, Sluice names
// its long-lived threads: a task's thread "<subtask+1>/<parallelism> <vertex name>", the data
// exchange's "exch-out-write", "exch-out-credit" and "exch-in-credit", a task's checkpoint
// "ckpt-upload", "tm-control" and "jm-timer". Linux
// keeps at most 15 bytes: longer names are cut (at a UTF-8 character boundary).
// Thread safety: affects only the calling thread; safe from any thread.

#include <string>
#include <string_view>

namespace sluice {

inline constexpr size_t kMaxThreadNameBytes = 15;

// The name as the kernel will keep it: at most kMaxThreadNameBytes bytes, not ending inside a
// UTF-8 multi-byte character.
std::string TruncateThreadName(std::string_view name);

// Sets the calling thread's name (truncated as above). Errors are ignored: a name is a
// diagnostic aid only.
void SetCurrentThreadName(std::string_view name);

// The calling thread's name ("" if it cannot be read).
std::string CurrentThreadName();

}  // namespace sluice
