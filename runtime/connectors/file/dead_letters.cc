#include "runtime/connectors/file/dead_letters.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "runtime/base/status.h"

namespace sluice::connectors {

FileDeadLetters::~FileDeadLetters() {
  if (f_ != nullptr) std::fclose(f_);
}

absl::Status FileDeadLetters::Open(const std::string& dir, int subtask) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return UnavailableF("file source dead letters: cannot create '{}': {}", dir, ec.message());
  }
  path_ = (std::filesystem::path(dir) / fmt::format("bad-records-{}.jsonl", subtask)).string();
  f_ = std::fopen(path_.c_str(), "ae");
  if (f_ == nullptr) {
    return UnavailableF("file source dead letters: cannot open '{}': {}", path_,
                        std::strerror(errno));
  }
  return absl::OkStatus();
}

absl::Status FileDeadLetters::Write(std::string_view file, int64_t line, int64_t offset,
                                    std::string_view error, std::string_view row) {
  nlohmann::json j;
  j["file"] = file;
  if (line > 0) {
    j["line"] = line;
  } else {
    j["offset"] = offset;
  }
  j["error"] = error;
  j["row"] = row;
  // Bad rows may hold invalid UTF-8: replace it rather than fail.
  const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), f_) != text.size()) {
    return UnavailableF("file source dead letters: cannot write '{}': {}", path_,
                        std::strerror(errno));
  }
  return absl::OkStatus();
}

absl::Status FileDeadLetters::Flush() {
  if (f_ == nullptr) return absl::OkStatus();
  if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0) {
    return UnavailableF("file source dead letters: cannot flush '{}': {}", path_,
                        std::strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace sluice::connectors
