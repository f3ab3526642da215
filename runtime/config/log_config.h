#pragma once
// The daemons' logging keys (both daemons read the same ones): env.log.dir, log.file,
// env.log.max, env.log.max-file-size, env.log.level, env.log.format, env.log.console.
// See runtime/base/logging.h for what they do and docs/configuration.md for defaults.

#include "absl/status/status.h"
#include "runtime/base/logging.h"
#include "runtime/config/config_file.h"

namespace sluice::config {

// Sets the keys present in `file` over `*out`; InvalidArgument naming file:line and key for a
// bad value (an unknown level or format, a negative count, a size under 4 KiB).
absl::Status ApplyLogConfig(const ConfigFile& file, LogOptions* out);

}  // namespace sluice::config
