#include "runtime/base/log_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include "fmt/format.h"

namespace sluice {

std::vector<LogFileInfo> ListLogFiles(const std::filesystem::path& dir) {
  std::vector<LogFileInfo> files;
  if (dir.empty()) return files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const int64_t mtime_ms =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    files.push_back(LogFileInfo{entry.path().filename().string(), st.st_size, mtime_ms});
  }
  std::sort(files.begin(), files.end(),
            [](const LogFileInfo& a, const LogFileInfo& b) { return a.name < b.name; });
  return files;
}

absl::StatusOr<int> OpenLogFile(const std::filesystem::path& dir, std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(fmt::format("'{}' is not a log file name", name));
  }
  if (dir.empty()) {
    return absl::NotFoundError(
        fmt::format("no log file '{}': this daemon logs to the console only (env.log.dir is not set)",
                    name));
  }
  const std::filesystem::path path = dir / std::string(name);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return absl::NotFoundError(fmt::format("no log file '{}' in {}", name, dir.string()));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::NotFoundError(fmt::format("no log file '{}' in {}", name, dir.string()));
  }
  return fd;
}

}  // namespace sluice
