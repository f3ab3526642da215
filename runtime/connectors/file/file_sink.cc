#include "runtime/connectors/file/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "runtime/base/status.h"
#include "runtime/core/record_batch.h"

namespace sluice::connectors {
namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;

absl::Status IoError(std::string_view op, const std::string& path, int err) {
  return InternalF("file sink: cannot {} '{}': {}", op, path, std::strerror(err));
}

// If `name` is "part-<k>.csv", returns k; otherwise -1.
int64_t PartIndex(std::string_view name) {
  constexpr std::string_view kPrefix = "part-";
  constexpr std::string_view kSuffix = ".csv";
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return -1;
  }
  std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  int64_t k = -1;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), k);
  if (ec != std::errc() || p != digits.data() + digits.size() || k < 0) return -1;
  return k;
}

// See file_sink.h. Lifecycle: Open, ProcessBatch*, Finish, Close (or Close alone on failure).
// Task thread only.
class FileSink final : public operators::Operator {
 public:
  explicit FileSink(FileSinkOptions opts) : opts_(std::move(opts)) {}
  ~FileSink() override { Close(); }

  core::SchemaPtr output_schema() const override { return opts_.schema; }

  absl::Status Open(const operators::OperatorContext& ctx) override {
    ctx_ = ctx;
    if (opts_.path.empty()) return InvalidArgumentF("file sink: no output path");
    if (opts_.schema == nullptr) return InvalidArgumentF("file sink: no schema");
    std::error_code ec;
    std::filesystem::create_directories(opts_.path, ec);
    if (ec) return IoError("create directory", opts_.path, ec.value());
    if (ctx.subtask_index == 0) RETURN_IF_ERROR(RemoveStaleParts(ctx.parallelism));
    std::string dir = opts_.path;
    if (dir.back() != '/') dir.push_back('/');
    inprogress_path_ = fmt::format("{}.part-{}.csv.inprogress", dir, ctx.subtask_index);
    final_path_ = fmt::format("{}part-{}.csv", dir, ctx.subtask_index);
    fd_ = ::open(inprogress_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return IoError("create", inprogress_path_, errno);
    buf_.clear();
    if (opts_.header) {
      buf_.append(opts_.schema->HeaderLine());
      buf_.push_back('\n');
    }
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(const core::RecordBatch& batch, operators::Output&) override {
    if (fd_ < 0) return FailedPreconditionF("file sink: '{}' is not open", final_path_);
    for (size_t r = 0; r < batch.num_rows(); ++r) batch.AppendCsvLine(r, &buf_);
    if (ctx_.metrics != nullptr) {
      ctx_.metrics->records_in.fetch_add(static_cast<int64_t>(batch.num_rows()),
                                         std::memory_order_relaxed);
    }
    if (buf_.size() > kFlushBytes) RETURN_IF_ERROR(Flush());
    return absl::OkStatus();
  }

  absl::Status ProcessWatermark(int64_t, operators::Output&) override {
    return absl::OkStatus();
  }

  absl::Status Finish(operators::Output&) override {
    if (fd_ < 0) return FailedPreconditionF("file sink: '{}' is not open", final_path_);
    RETURN_IF_ERROR(Flush());
    if (::fsync(fd_) != 0) return IoError("fsync", inprogress_path_, errno);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return IoError("close", inprogress_path_, errno);
    if (std::rename(inprogress_path_.c_str(), final_path_.c_str()) != 0) {
      return IoError("rename to " + final_path_, inprogress_path_, errno);
    }
    // Make the rename durable.
    int dir_fd = ::open(opts_.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);
      ::close(dir_fd);
    }
    return absl::OkStatus();
  }

  void Close() override {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    ::unlink(inprogress_path_.c_str());
  }

 private:
  absl::Status Flush() {
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("write", inprogress_path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    if (ctx_.metrics != nullptr) {
      ctx_.metrics->bytes_out.fetch_add(static_cast<int64_t>(buf_.size()),
                                        std::memory_order_relaxed);
    }
    buf_.clear();
    return absl::OkStatus();
  }

  absl::Status RemoveStaleParts(int32_t parallelism) {
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(opts_.path, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      int64_t k = PartIndex(it->path().filename().string());
      if (k < parallelism) continue;
      std::error_code rm_ec;
      std::filesystem::remove(it->path(), rm_ec);
      if (rm_ec) return IoError("remove stale part file", it->path().string(), rm_ec.value());
    }
    if (ec) return IoError("list directory", opts_.path, ec.value());
    return absl::OkStatus();
  }

  FileSinkOptions opts_;
  int fd_ = -1;
  std::string inprogress_path_;
  std::string final_path_;
  std::string buf_;  // reused; written out past kFlushBytes
};

}  // namespace

std::unique_ptr<operators::Operator> MakeFileSink(FileSinkOptions opts) {
  return std::make_unique<FileSink>(std::move(opts));
}

}  // namespace sluice::connectors
