#include "runtime/connectors/file/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/base/status.h"
#include "runtime/formats/state_codec.h"
#include "runtime/core/record_batch.h"
#include "runtime/formats/record_encoder.h"

namespace sluice::connectors {
namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;
constexpr std::string_view kStateMagic = "FSNK";
// Version 2: pending files carry the attempt that wrote them (hidden names are per attempt).
// Version 3: plus the retired subtask indices this subtask took over in a rescaling restore.
constexpr uint32_t kStateVersion = 3;
constexpr uint32_t kOldestReadableVersion = 2;
constexpr int64_t kUnassigned = -1;  // checkpoint id of a pending file made by Finish

absl::Status IoError(std::string_view op, const std::string& path, int err) {
  return InternalF("file sink: cannot {} '{}': {}", op, path, std::strerror(err));
}

// A file name of the sink's naming scheme, parsed.
struct PartName {
  bool hidden = false;  // starts with '.': in-progress or pending
  int64_t subtask = -1;
  int64_t seq = -1;  // -1: the previous version's naming without a sequence number
  int64_t attempt = -1;  // hidden files: the execution attempt that wrote them
};

// Reads a non-negative decimal at the front of *s and removes it; false if there is none.
bool ConsumeNumber(std::string_view* s, int64_t* v) {
  size_t n = 0;
  while (n < s->size() && (*s)[n] >= '0' && (*s)[n] <= '9') ++n;
  if (n == 0) return false;
  auto [p, ec] = std::from_chars(s->data(), s->data() + n, *v);
  if (ec != std::errc()) return false;
  s->remove_prefix(n);
  return true;
}

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

// Recognises (with `.csv` or `.jsonl`) `part-<k>-<seq>.csv`, `.part-<k>-<seq>-a<attempt>.csv.inprogress`,
// `.part-<k>-<seq>-a<attempt>.csv.pending`, and older namings (`.part-<k>-<seq>.csv.*`,
// `part-<k>.csv`, `.part-<k>.csv.inprogress`). Anything else (user files) is nullopt and left
// alone.
std::optional<PartName> ParsePartName(std::string_view name) {
  PartName part;
  part.hidden = ConsumePrefix(&name, ".");
  if (!ConsumePrefix(&name, "part-") || !ConsumeNumber(&name, &part.subtask)) return std::nullopt;
  if (ConsumePrefix(&name, "-") && !ConsumeNumber(&name, &part.seq)) return std::nullopt;
  if (part.hidden && ConsumePrefix(&name, "-a") && !ConsumeNumber(&name, &part.attempt)) {
    return std::nullopt;
  }
  if (!ConsumePrefix(&name, ".csv") && !ConsumePrefix(&name, ".jsonl")) return std::nullopt;
  if (!part.hidden) return name.empty() ? std::optional<PartName>(part) : std::nullopt;
  if (name == ".inprogress" || (name == ".pending" && part.seq >= 0)) return part;
  return std::nullopt;
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("fsync directory", dir, err);
  return absl::OkStatus();
}

// See file_sink.h. Lifecycle: Open, ProcessBatch* with SnapshotState/Notify* in between,
// Finish, Close (or Close alone on failure/cancel). Task thread only.
class FileSink final : public api::Operator {
 public:
  explicit FileSink(FileSinkOptions opts) : opts_(std::move(opts)) {}
  ~FileSink() override { Close(); }

  core::SchemaPtr output_schema() const override { return opts_.schema; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    ctx_ = ctx;
    if (opts_.path.empty()) return InvalidArgumentF("file sink: no output path");
    if (opts_.schema == nullptr) return InvalidArgumentF("file sink: no schema");
    if (opts_.format == formats::RecordFormat::kJson) {
      formats::RecordFormatOptions fo;
      fo.format = formats::RecordFormat::kJson;
      auto e = formats::RecordEncoder::Create(opts_.schema, fo);
      if (!e.ok()) return InvalidArgumentF("file sink: {}", std::string(e.status().message()));
      json_ = *std::move(e);
    } else if (opts_.format != formats::RecordFormat::kCsv) {
      return InvalidArgumentF("file sink: format {} is not a file format (csv or json)",
                              formats::RecordFormatName(opts_.format));
    }
    std::error_code ec;
    std::filesystem::create_directories(opts_.path, ec);
    if (ec) return IoError("create directory", opts_.path, ec.value());
    dir_ = opts_.path;
    if (dir_.back() != '/') dir_.push_back('/');
    bool fresh = true;
    if (!ctx.restored_union_states.empty()) {
      ASSIGN_OR_RETURN(fresh, RestoreRescaled(ctx.restored_union_states));
    } else if (ctx.restored_state.has_value() && !ctx.restored_state->empty()) {
      RETURN_IF_ERROR(Restore(*ctx.restored_state));
      fresh = false;
    }
    if (fresh) {
      RETURN_IF_ERROR(RemoveFiles([&](const PartName& part) {
        return part.subtask == ctx_.subtask_index ||
               (ctx_.subtask_index == 0 && part.subtask >= ctx_.parallelism);
      }));
    }
    RETURN_IF_ERROR(SyncDir(opts_.path));
    open_ = true;
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output&) override {
    if (!open_) return FailedPreconditionF("file sink: '{}' is not open", opts_.path);
    if (batch.num_rows() == 0) return absl::OkStatus();
    if (fd_ < 0) RETURN_IF_ERROR(StartFile());
    if (json_) {
      for (size_t r = 0; r < batch.num_rows(); ++r) {
        RETURN_IF_ERROR(json_->EncodeValue(batch, r, &line_));
        if (opts_.changelog) {
          // {"op":"-U", ...the row's members}
          buf_.append("{\"op\":\"");
          buf_.append(core::ShortString(batch.row_kind(r)));
          buf_.append(line_.size() > 2 ? "\"," : "\"");
          buf_.append(line_, 1, std::string::npos);
        } else {
          buf_.append(line_);
        }
        buf_.push_back('\n');
      }
    } else {
      for (size_t r = 0; r < batch.num_rows(); ++r) {
        if (opts_.changelog) {
          buf_.append(core::ShortString(batch.row_kind(r)));
          buf_.push_back(',');
        }
        batch.AppendCsvLine(r, &buf_);
      }
    }
    rows_in_file_ += static_cast<int64_t>(batch.num_rows());
    if (ctx_.metrics != nullptr) {
      ctx_.metrics->records_in.fetch_add(static_cast<int64_t>(batch.num_rows()),
                                         std::memory_order_relaxed);
    }
    if (buf_.size() > kFlushBytes) RETURN_IF_ERROR(Flush());
    return absl::OkStatus();
  }

  absl::Status ProcessWatermark(int64_t, api::Output&) override { return absl::OkStatus(); }

  absl::Status Finish(api::Output&) override {
    if (!open_) return FailedPreconditionF("file sink: '{}' is not open", opts_.path);
    if (ctx_.checkpointing_enabled) {
      // The final checkpoint commits it.
      return MoveToPending(kUnassigned);
    }
    if (fd_ < 0) RETURN_IF_ERROR(StartFile());  // one file per subtask, even without rows
    RETURN_IF_ERROR(CloseFile());
    const std::string inprogress = InProgressPath(ctx_.subtask_index, current_seq_);
    const std::string final_path = FinalPath(ctx_.subtask_index, current_seq_);
    if (std::rename(inprogress.c_str(), final_path.c_str()) != 0) {
      return IoError("rename to " + final_path, inprogress, errno);
    }
    return SyncDir(opts_.path);
  }

  absl::StatusOr<std::string> SnapshotState(int64_t checkpoint_id) override {
    if (!open_) return FailedPreconditionF("file sink: '{}' is not open", opts_.path);
    RETURN_IF_ERROR(MoveToPending(checkpoint_id));
    formats::StateWriter w(kStateMagic, kStateVersion);
    w.U32(static_cast<uint32_t>(ctx_.subtask_index));
    w.I64(next_seq_);
    w.U32(static_cast<uint32_t>(pending_.size()));
    for (Pending& p : pending_) {
      if (p.checkpoint_id == kUnassigned) p.checkpoint_id = checkpoint_id;
      w.I64(p.checkpoint_id);
      w.I64(p.seq);
      w.I64(p.attempt);
    }
    w.U32(static_cast<uint32_t>(retired_.size()));
    for (const Retired& r : retired_) {
      w.I64(r.subtask);
      w.I64(r.next_seq);
    }
    return std::move(w).Finish();
  }

  absl::Status NotifyCheckpointComplete(int64_t checkpoint_id) override {
    bool committed = false;
    size_t kept = 0;
    for (size_t k = 0; k < pending_.size(); ++k) {
      const Pending& p = pending_[k];
      if (p.checkpoint_id != kUnassigned && p.checkpoint_id <= checkpoint_id) {
        RETURN_IF_ERROR(Commit(ctx_.subtask_index, p.seq, p.attempt, p.checkpoint_id));
        committed = true;
      } else {
        pending_[kept++] = p;
      }
    }
    pending_.resize(kept);
    if (committed) RETURN_IF_ERROR(SyncDir(opts_.path));
    return absl::OkStatus();
  }

  void NotifyCheckpointAborted(int64_t) override {}

  void Close() override {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    ::unlink(InProgressPath(ctx_.subtask_index, current_seq_).c_str());
  }

 private:
  // A closed part file waiting for its checkpoint to complete.
  struct Pending {
    int64_t seq;
    int64_t checkpoint_id;  // kUnassigned: made by Finish, belongs to the next snapshot
    int64_t attempt;        // the execution attempt that wrote it (part of its hidden name)
  };

  // A subtask index of an earlier, higher parallelism whose files this subtask took over in a
  // rescaling restore: its committed files below next_seq are output; a subtask that gets
  // this index again later continues its numbering from next_seq.
  struct Retired {
    int64_t subtask;
    int64_t next_seq;
  };

  // A decoded SnapshotState.
  struct SinkState {
    int64_t subtask = 0;
    int64_t next_seq = 0;
    std::vector<Pending> pending;
    std::vector<Retired> retired;
  };

  // Hidden names carry the attempt, so a zombie attempt (on a TaskManager declared lost but still
  // running for a moment) never writes, renames or deletes the files of its replacement (as
  // Flink's in-progress files carry a unique id).
  std::string InProgressPath(int64_t subtask, int64_t seq) const {
    return fmt::format("{}.part-{}-{}-a{}{}.inprogress", dir_, subtask, seq,
                       ctx_.attempt_number, Extension());
  }
  std::string PendingPath(int64_t subtask, int64_t seq, int64_t attempt) const {
    return fmt::format("{}.part-{}-{}-a{}{}.pending", dir_, subtask, seq, attempt, Extension());
  }
  std::string FinalPath(int64_t subtask, int64_t seq) const {
    return fmt::format("{}part-{}-{}{}", dir_, subtask, seq, Extension());
  }
  const char* Extension() const { return json_ ? ".jsonl" : ".csv"; }

  absl::Status StartFile() {
    current_seq_ = next_seq_++;
    rows_in_file_ = 0;
    const std::string path = InProgressPath(ctx_.subtask_index, current_seq_);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return IoError("create", path, errno);
    buf_.clear();
    if (opts_.header && !json_) {
      if (opts_.changelog) buf_.append("op,");
      buf_.append(opts_.schema->HeaderLine());
      buf_.push_back('\n');
    }
    return absl::OkStatus();
  }

  // Writes the rest of the in-progress file, fsyncs and closes it.
  absl::Status CloseFile() {
    const std::string path = InProgressPath(ctx_.subtask_index, current_seq_);
    RETURN_IF_ERROR(Flush());
    if (::fsync(fd_) != 0) return IoError("fsync", path, errno);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return IoError("close", path, errno);
    return absl::OkStatus();
  }

  // If the in-progress file has rows, closes it and renames it to pending for `checkpoint_id`.
  absl::Status MoveToPending(int64_t checkpoint_id) {
    if (fd_ < 0) return absl::OkStatus();
    const std::string inprogress = InProgressPath(ctx_.subtask_index, current_seq_);
    if (rows_in_file_ == 0) {  // nothing worth committing
      Close();
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(CloseFile());
    const std::string pending = PendingPath(ctx_.subtask_index, current_seq_, ctx_.attempt_number);
    if (std::rename(inprogress.c_str(), pending.c_str()) != 0) {
      return IoError("rename to " + pending, inprogress, errno);
    }
    RETURN_IF_ERROR(SyncDir(opts_.path));
    pending_.push_back({current_seq_, checkpoint_id, ctx_.attempt_number});
    return absl::OkStatus();
  }

  // Renames a pending file to its final name; a file committed before is fine. Does not fsync
  // the directory.
  absl::Status Commit(int64_t subtask, int64_t seq, int64_t attempt, int64_t checkpoint_id) {
    const std::string pending = PendingPath(subtask, seq, attempt);
    const std::string final_path = FinalPath(subtask, seq);
    if (std::rename(pending.c_str(), final_path.c_str()) == 0) return absl::OkStatus();
    const int err = errno;
    if (err == ENOENT) {
      std::error_code ec;
      if (std::filesystem::exists(final_path, ec)) return absl::OkStatus();
      return DataLossF(
          "file sink: pending part file '{}' of checkpoint {} is missing and "
          "'{}' was never committed",
          pending, checkpoint_id, final_path);
    }
    return IoError("rename to " + final_path, pending, err);
  }

  static absl::StatusOr<SinkState> Decode(const std::string& state) {
    formats::StateReader r(state, "file sink");
    ASSIGN_OR_RETURN(uint32_t version, r.Header(kStateMagic));
    if (version < kOldestReadableVersion || version > kStateVersion) {
      return FailedPreconditionF(
          "file sink: restored state has format version {}; this version reads versions {} to {}",
          version, kOldestReadableVersion, kStateVersion);
    }
    SinkState st;
    ASSIGN_OR_RETURN(uint32_t subtask, r.U32());
    st.subtask = subtask;
    ASSIGN_OR_RETURN(st.next_seq, r.I64());
    if (st.next_seq < 0) {
      return DataLossF("file sink: restored next sequence number {}", st.next_seq);
    }
    ASSIGN_OR_RETURN(uint32_t n, r.U32());
    for (uint32_t k = 0; k < n; ++k) {
      Pending p;
      ASSIGN_OR_RETURN(p.checkpoint_id, r.I64());
      ASSIGN_OR_RETURN(p.seq, r.I64());
      ASSIGN_OR_RETURN(p.attempt, r.I64());
      if (p.seq < 0 || p.seq >= st.next_seq) {
        return DataLossF(
            "file sink: restored state lists part {} but the next sequence number "
            "is {}",
            p.seq, st.next_seq);
      }
      st.pending.push_back(p);
    }
    if (version >= 3) {
      ASSIGN_OR_RETURN(uint32_t m, r.U32());
      for (uint32_t k = 0; k < m; ++k) {
        Retired ret;
        ASSIGN_OR_RETURN(ret.subtask, r.I64());
        ASSIGN_OR_RETURN(ret.next_seq, r.I64());
        if (ret.subtask < 0 || ret.next_seq < 0) {
          return DataLossF("file sink: restored state lists retired subtask {} with next seq {}",
                           ret.subtask, ret.next_seq);
        }
        st.retired.push_back(ret);
      }
    }
    RETURN_IF_ERROR(r.End());
    return st;
  }

  // Commits the pending files of a restored state, then removes what later attempts left.
  absl::Status Restore(const std::string& state) {
    ASSIGN_OR_RETURN(SinkState st, Decode(state));
    for (const Pending& p : st.pending) {
      RETURN_IF_ERROR(Commit(st.subtask, p.seq, p.attempt, p.checkpoint_id));
    }
    next_seq_ = st.next_seq;
    retired_ = st.retired;
    absl::flat_hash_map<int64_t, int64_t> floors;
    floors[ctx_.subtask_index] = next_seq_;
    for (const Retired& r : retired_) floors[r.subtask] = r.next_seq;
    return RemoveStale(floors);
  }

  // Restores at a different parallelism from the states of all old subtasks (union state),
  // see file_sink.h. Returns true when no old subtask had a state (then Open starts fresh).
  absl::StatusOr<bool> RestoreRescaled(const std::vector<std::string>& blobs) {
    std::vector<SinkState> states;
    size_t empty = 0;
    for (const std::string& blob : blobs) {
      if (blob.empty()) {
        ++empty;
        continue;
      }
      ASSIGN_OR_RETURN(SinkState st, Decode(blob));
      states.push_back(std::move(st));
    }
    if (states.empty()) return true;
    const int64_t old_p = ctx_.restored_parallelism > 0 ? ctx_.restored_parallelism
                                                        : static_cast<int64_t>(blobs.size());
    absl::flat_hash_map<int64_t, bool> seen;
    for (const SinkState& st : states) {
      if (st.subtask >= old_p || !seen.emplace(st.subtask, true).second) {
        return DataLossF(
            "file sink: rescaling restore from parallelism {}: state of subtask {} is out of "
            "range or repeated",
            old_p, st.subtask);
      }
    }
    if (empty > 0 || static_cast<int64_t>(states.size()) != old_p) {
      return DataLossF(
          "file sink: rescaling restore from parallelism {} got {} states ({} empty); every "
          "old subtask's state is needed to commit its pending files",
          old_p, states.size(), empty);
    }
    const int64_t own = ctx_.subtask_index;
    const int64_t p = ctx_.parallelism;
    // Continue after every file this index ever committed: the old subtask with this index,
    // or a retired record of it (an earlier rescaling took it over).
    int64_t next_seq = 0;
    for (const SinkState& st : states) {
      if (st.subtask == own) next_seq = std::max(next_seq, st.next_seq);
      for (const Retired& r : st.retired) {
        if (r.subtask == own) next_seq = std::max(next_seq, r.next_seq);
      }
    }
    absl::flat_hash_map<int64_t, int64_t> floors;  // index -> first seq not committed
    floors[own] = next_seq;
    std::vector<Retired> retired;
    bool committed = false;
    for (const SinkState& st : states) {
      if (st.subtask % p != own) continue;
      for (const Pending& pend : st.pending) {
        RETURN_IF_ERROR(Commit(st.subtask, pend.seq, pend.attempt, pend.checkpoint_id));
        committed = true;
      }
      if (st.subtask != own) {  // then st.subtask >= p: no subtask has this index now
        retired.push_back({st.subtask, st.next_seq});
        floors[st.subtask] = st.next_seq;
      }
      for (const Retired& r : st.retired) {
        if (r.subtask < p) continue;  // live again: that subtask continues after it
        retired.push_back(r);
        floors[r.subtask] = r.next_seq;
      }
    }
    if (committed) RETURN_IF_ERROR(SyncDir(opts_.path));
    next_seq_ = next_seq;
    retired_ = std::move(retired);
    RETURN_IF_ERROR(RemoveStale(floors));
    return false;
  }

  // Deletes the hidden files of every index in `floors` (in-progress or pending files of
  // attempts after the restored checkpoint) and its committed files numbered from the floor on
  // (output of a later checkpoint, when an older one is restored).
  absl::Status RemoveStale(const absl::flat_hash_map<int64_t, int64_t>& floors) {
    return RemoveFiles([&](const PartName& part) {
      auto it = floors.find(part.subtask);
      if (it == floors.end()) return false;
      return part.hidden || part.seq >= it->second;
    });
  }

  // Deletes the part files of the output directory for which `match` is true.
  template <typename Match>
  absl::Status RemoveFiles(const Match& match) {
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(opts_.path, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      std::optional<PartName> part = ParsePartName(it->path().filename().string());
      if (!part.has_value() || !match(*part)) continue;
      std::error_code rm_ec;
      std::filesystem::remove(it->path(), rm_ec);
      if (rm_ec && rm_ec != std::errc::no_such_file_or_directory) {
        return IoError("remove stale part file", it->path().string(), rm_ec.value());
      }
    }
    if (ec) return IoError("list directory", opts_.path, ec.value());
    return absl::OkStatus();
  }

  absl::Status Flush() {
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("write", InProgressPath(ctx_.subtask_index, current_seq_), errno);
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

  FileSinkOptions opts_;
  std::string dir_;  // opts_.path with a trailing '/'
  bool open_ = false;
  int fd_ = -1;               // the in-progress file, or -1
  int64_t current_seq_ = -1;  // its sequence number
  int64_t rows_in_file_ = 0;
  int64_t next_seq_ = 0;
  std::vector<Pending> pending_;  // not committed yet, in sequence order
  std::vector<Retired> retired_;  // indices taken over in a rescaling restore
  std::string buf_;               // reused; written out past kFlushBytes
  std::unique_ptr<formats::RecordEncoder> json_;  // format json only
  std::string line_;                              // one JSON line, reused
};

}  // namespace

std::unique_ptr<api::Operator> MakeFileSink(FileSinkOptions opts) {
  return std::make_unique<FileSink>(std::move(opts));
}

}  // namespace sluice::connectors
