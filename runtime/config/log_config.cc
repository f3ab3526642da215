#include "runtime/config/log_config.h"

#include <string>

#include "runtime/base/status.h"

namespace sluice::config {

absl::Status ApplyLogConfig(const ConfigFile& file, LogOptions* out) {
  std::string dir = out->dir.string();
  std::string path = out->file.string();
  RETURN_IF_ERROR(file.GetString("env.log.dir", &dir));
  RETURN_IF_ERROR(file.GetString("log.file", &path));
  out->dir = dir;
  out->file = path;
  RETURN_IF_ERROR(file.GetInt("env.log.max", 1, 1000, &out->max_files));
  RETURN_IF_ERROR(file.GetMemorySize("env.log.max-file-size", 4096, &out->max_file_bytes));
  RETURN_IF_ERROR(file.GetBool("env.log.console", &out->console));
  std::string level = out->level;
  RETURN_IF_ERROR(file.GetString("env.log.level", &level));
  if (absl::Status known = CheckLogLevel(level); !known.ok()) {
    return InvalidArgumentF("{}: env.log.level: {}", file.source(), known.message());
  }
  out->level = level;
  std::string format;
  RETURN_IF_ERROR(file.GetString("env.log.format", &format));
  if (!format.empty()) {
    absl::Status parsed = ParseLogFormat(format, &out->format);
    if (!parsed.ok()) return InvalidArgumentF("{}: env.log.format: {}", file.source(), parsed.message());
  }
  return absl::OkStatus();
}

}  // namespace sluice::config
