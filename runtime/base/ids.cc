#include "runtime/base/ids.h"

#include <mutex>
#include <random>

#include "absl/strings/str_format.h"

namespace sluice {

Id128 Id128::Random() {
  static std::mutex mu;
  static std::mt19937_64 gen{std::random_device{}()};
  std::lock_guard lock(mu);
  return Id128(gen(), gen());
}

absl::StatusOr<Id128> Id128::Parse(std::string_view hex) {
  if (hex.size() != 32) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "id '%s' must be 32 hex characters, has %d", std::string(hex), hex.size()));
  }
  uint64_t parts[2] = {0, 0};
  for (size_t i = 0; i < 32; ++i) {
    char c = hex[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else
      return absl::InvalidArgumentError(absl::StrFormat(
          "id '%s' has a non-hex character '%c' at position %d", std::string(hex), c, i));
    parts[i / 16] = (parts[i / 16] << 4) | static_cast<uint64_t>(d);
  }
  return Id128(parts[0], parts[1]);
}

std::string Id128::ToString() const { return absl::StrFormat("%016x%016x", hi_, lo_); }

}  // namespace sluice
