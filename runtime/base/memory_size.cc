#include "runtime/base/memory_size.h"

#include <cctype>
#include <charconv>
#include <string>

namespace sluice {

std::optional<int64_t> ParseMemorySizeBytes(std::string_view text) {
  std::string s;
  for (char c : text) {
    if (c != ' ') s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0 || i > 18) return std::nullopt;
  int64_t n = 0;
  std::from_chars(s.data(), s.data() + i, n);
  const std::string_view unit = std::string_view(s).substr(i);
  int shift = 0;
  if (unit.empty() || unit == "b") {
    shift = 0;
  } else if (unit == "kb" || unit == "k") {
    shift = 10;
  } else if (unit == "mb" || unit == "m") {
    shift = 20;
  } else if (unit == "gb" || unit == "g") {
    shift = 30;
  } else {
    return std::nullopt;
  }
  if (n > (INT64_MAX >> shift)) return std::nullopt;
  return n << shift;
}

}  // namespace sluice
