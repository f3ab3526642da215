#pragma once
// Status helpers used across Sluice. Everything that can fail returns absl::Status or
// absl::StatusOr<T>; these macros propagate failures without exceptions (RocksDB/abseil style).
// Ignoring a status must be explicit and greppable: IgnoreError(status, "why").

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fmt/format.h"

#define SLUICE_CONCAT_INNER(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status _sluice_status = (expr);          \
    if (!_sluice_status.ok()) return _sluice_status; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on error returns the
// status, otherwise assigns the value to `lhs` (which may be a declaration: `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(_sluice_statusor_, __LINE__), lhs, expr)
#define SLUICE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

// Debian's abseil has its own absl::string_view (what Status::message() returns): let fmt
// format it like std::string_view.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  auto format(absl::string_view s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.data(), s.size()), ctx);
  }
};

namespace sluice {

// Formatted status constructors (fmt syntax). Debian's abseil is built with its own
// absl::string_view, so Sluice formats with fmt, which accepts std::string_view.
template <typename... Args>
absl::Status Errorf(absl::StatusCode code, fmt::format_string<Args...> f, Args&&... args) {
  return absl::Status(code, fmt::format(f, std::forward<Args>(args)...));
}
#define SLUICE_ERRORF(Name, Code)                                                 \
  template <typename... Args>                                                     \
  absl::Status Name(fmt::format_string<Args...> f, Args&&... args) {              \
    return absl::Status(absl::StatusCode::Code, fmt::format(f, std::forward<Args>(args)...)); \
  }
SLUICE_ERRORF(InvalidArgumentF, kInvalidArgument)
SLUICE_ERRORF(NotFoundF, kNotFound)
SLUICE_ERRORF(InternalF, kInternal)
SLUICE_ERRORF(FailedPreconditionF, kFailedPrecondition)
SLUICE_ERRORF(DataLossF, kDataLoss)
SLUICE_ERRORF(UnavailableF, kUnavailable)
SLUICE_ERRORF(AlreadyExistsF, kAlreadyExists)
SLUICE_ERRORF(ResourceExhaustedF, kResourceExhausted)
#undef SLUICE_ERRORF

// Drops a status on purpose; `why` documents the decision at the call site.
inline void IgnoreError(const absl::Status& /*status*/, const char* /*why*/) {}

}  // namespace sluice
