#include "runtime/base/logging.h"

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "fmt/format.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/rotating_file_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace sluice {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v";

std::filesystem::path g_log_file;  // written once by InitLogging, before other threads log

spdlog::level::level_enum ParseLevel(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  return lvl == spdlog::level::off && level != "off" ? spdlog::level::info : lvl;
}

// Appends `text` as the body of a JSON string (RFC 8259 escapes; control characters as \u00XX).
void AppendJsonEscaped(std::string_view text, spdlog::memory_buf_t& out) {
  for (char c : text) {
    switch (c) {
      case '"': out.append(std::string_view("\\\"")); break;
      case '\\': out.append(std::string_view("\\\\")); break;
      case '\n': out.append(std::string_view("\\n")); break;
      case '\r': out.append(std::string_view("\\r")); break;
      case '\t': out.append(std::string_view("\\t")); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
}

// One JSON object per line, Elastic Common Schema names (see logging.h).
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since_epoch = msg.time.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
    std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm utc{};
    gmtime_r(&t, &utc);
    fmt::format_to(std::back_inserter(dest),
                   "{{\"@timestamp\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"log.level\":\"",
                   utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                   utc.tm_sec, static_cast<int>(millis.count()));
    std::string_view level = LevelName(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view("\",\"log.logger\":\""));
    AppendJsonEscaped(std::string_view(msg.logger_name.data(), msg.logger_name.size()), dest);
    fmt::format_to(std::back_inserter(dest), "\",\"process.thread.id\":{},\"message\":\"",
                   msg.thread_id);
    AppendJsonEscaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    dest.append(std::string_view("\"}\n"));
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  // log4j's level names, which log shippers expect.
  static std::string_view LevelName(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::trace: return "TRACE";
      case spdlog::level::debug: return "DEBUG";
      case spdlog::level::info: return "INFO";
      case spdlog::level::warn: return "WARN";
      case spdlog::level::err: return "ERROR";
      case spdlog::level::critical: return "FATAL";
      default: return "OFF";
    }
  }
};

std::unique_ptr<spdlog::formatter> MakeFormatter(LogFormat format) {
  if (format == LogFormat::kJson) return std::make_unique<JsonFormatter>();
  return std::make_unique<spdlog::pattern_formatter>(kTextPattern);
}

void Install(std::shared_ptr<spdlog::logger> logger, spdlog::level::level_enum level) {
  spdlog::drop(logger->name());
  spdlog::register_logger(logger);
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(level);
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace

absl::Status CheckLogLevel(std::string_view level) {
  for (std::string_view known : {"trace", "debug", "info", "warn", "error", "off"}) {
    if (level == known) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(fmt::format(
      "unknown log level '{}' (expected trace, debug, info, warn, error or off)", level));
}

absl::Status ParseLogFormat(std::string_view text, LogFormat* out) {
  std::string lower;
  for (char c : text) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "text") {
    *out = LogFormat::kText;
  } else if (lower == "json") {
    *out = LogFormat::kJson;
  } else {
    return absl::InvalidArgumentError(
        fmt::format("unknown log format '{}' (expected text or json)", text));
  }
  return absl::OkStatus();
}

void InitLogging(std::string_view process, std::string_view level) {
  auto logger = std::make_shared<spdlog::logger>(
      std::string(process), std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_pattern(kTextPattern);
  Install(std::move(logger), ParseLevel(level));
}

absl::Status InitLogging(std::string_view process, std::string_view file_stem,
                         const LogOptions& options) {
  if (absl::Status known = CheckLogLevel(options.level); !known.ok()) {
    InitLogging(process, "info");
    return known;
  }
  const spdlog::level::level_enum level = spdlog::level::from_str(options.level);
  std::vector<spdlog::sink_ptr> sinks;
  if (options.console) sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  std::filesystem::path file = options.file;
  if (file.empty() && !options.dir.empty()) file = options.dir / (std::string(file_stem) + ".log");
  if (!file.empty()) {
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          file.string(), static_cast<size_t>(options.max_file_bytes),
          static_cast<size_t>(options.max_files)));
    } catch (const spdlog::spdlog_ex& e) {
      InitLogging(process, options.level);
      return absl::UnavailableError(
          fmt::format("cannot open log file '{}': {}", file.string(), e.what()));
    }
  }
  auto logger = std::make_shared<spdlog::logger>(std::string(process), sinks.begin(), sinks.end());
  logger->set_formatter(MakeFormatter(options.format));
  g_log_file = file;
  Install(std::move(logger), level);
  return absl::OkStatus();
}

const std::filesystem::path& CurrentLogFile() { return g_log_file; }

std::string CurrentLogDirectory() {
  if (g_log_file.empty()) return {};
  return std::filesystem::absolute(g_log_file).parent_path().string();
}

}  // namespace sluice
