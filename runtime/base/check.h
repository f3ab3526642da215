#pragma once
// SLUICE_CHECK(cond, fmt, args...): guards invariants whose violation means a bug in Sluice,
// never bad user input (that gets an absl::Status). Logs the message with file:line, then
// aborts so the core dump/stack trace shows where.

#include <cstdlib>

#include "spdlog/spdlog.h"

#define SLUICE_CHECK(cond, ...)                                                      \
  do {                                                                               \
    if (!(cond)) [[unlikely]] {                                                      \
      spdlog::critical("CHECK failed at {}:{}: {}: {}", __FILE__, __LINE__, #cond,   \
                       fmt::format(__VA_ARGS__));                                    \
      spdlog::shutdown();                                                            \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
