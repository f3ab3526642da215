#pragma once
// Parsing of memory sizes in job specs and config files, Flink's MemorySize notation:
// "64 mb", "1g", "512kb", "100 b" or a bare integer meaning bytes (units are binary: 1 kb =
// 1024 bytes; case and spaces are ignored). Returns bytes, or nullopt for anything else.

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

std::optional<int64_t> ParseMemorySizeBytes(std::string_view text);

}  // namespace sluice
