#include "runtime/checkpoint/checkpoint_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "nlohmann/json.hpp"
#include "runtime/base/status.h"

namespace sluice::checkpoint {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

absl::Status ErrnoStatus(int err, std::string_view op, std::string_view path) {
  std::string msg = fmt::format("{} {}: {}", op, path, std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

absl::Status FsStatus(const std::error_code& ec, std::string_view op, std::string_view path) {
  return ErrnoStatus(ec.value(), op, path);
}

absl::Status CreateDirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return FsStatus(ec, "cannot create directory", dir);
  return absl::OkStatus();
}

absl::Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return ErrnoStatus(errno, "cannot open for fsync", path);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, "fsync failed for", path);
  return absl::OkStatus();
}

// Writes `bytes` to `path`.tmp, fsyncs, renames to `path`. Removes the temporary on failure.
absl::Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoStatus(err, "cannot write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "fsync failed for", tmp);
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "cannot close", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, fmt::format("cannot rename {} to", tmp), path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  struct stat st;
  std::string out;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "cannot read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Parses "chk-<n>" (n >= 0, decimal, no sign/leading junk).
std::optional<int64_t> ParseCheckpointDirName(std::string_view name) {
  std::string_view prefix = kCheckpointDirPrefix;
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = name.substr(prefix.size());
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || n < 0) return std::nullopt;
  return n;
}

json SubtaskToJson(const SubtaskStateHandle& s) {
  json ops = json::array();
  for (const OperatorStateHandle& op : s.operators) {
    json offsets = json::array();
    for (const auto& [kg, off] : op.key_group_offsets) offsets.push_back(json::array({kg, off}));
    json o = {{"uid", op.operator_uid},
              {"operator-state", Base64Encode(op.operator_state)},
              {"keyed-state-file", op.keyed_state_file},
              {"keyed-state-size", op.keyed_state_size},
              {"key-group-offsets", std::move(offsets)}};
    if (op.incremental) {
      const IncrementalKeyedState& inc = *op.incremental;
      auto files = [](const std::vector<StateFile>& v) {
        json a = json::array();
        for (const auto& f : v) a.push_back(json::array({f.name, f.path, f.size, f.uploaded_by}));
        return a;
      };
      o["incremental"] = {{"key-groups", json::array({inc.key_group_start, inc.key_group_end})},
                          {"shared-files", files(inc.shared_files)},
                          {"private-files", files(inc.private_files)},
                          {"checkpointed-size", inc.checkpointed_size}};
    }
    ops.push_back(std::move(o));
  }
  return {{"vertex", s.vertex}, {"subtask", s.subtask}, {"operators", std::move(ops)}};
}

// A missing or invalid field; thrown inside this file only and converted to a Status at the
// API boundary together with nlohmann's own exceptions (type errors, parse errors).
struct FieldError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const json& Field(const json& j, const char* name) {
  if (!j.is_object()) throw FieldError("expected an object");
  auto it = j.find(name);
  if (it == j.end()) {
    throw FieldError(fmt::format("missing field \"{}\"", name));
  }
  return *it;
}

SubtaskStateHandle SubtaskFromJson(const json& j) {
  SubtaskStateHandle s;
  s.vertex = Field(j, "vertex").get<int32_t>();
  s.subtask = Field(j, "subtask").get<int32_t>();
  for (const json& o : Field(j, "operators")) {
    OperatorStateHandle op;
    op.operator_uid = Field(o, "uid").get<std::string>();
    auto state = Base64Decode(Field(o, "operator-state").get<std::string>());
    if (!state.ok()) {
      throw FieldError(fmt::format("operator \"{}\": operator-state: {}", op.operator_uid,
                           state.status().message()));
    }
    op.operator_state = *std::move(state);
    op.keyed_state_file = Field(o, "keyed-state-file").get<std::string>();
    op.keyed_state_size = Field(o, "keyed-state-size").get<int64_t>();
    for (const json& p : Field(o, "key-group-offsets")) {
      if (!p.is_array() || p.size() != 2) {
        throw FieldError("key-group-offsets: expected [group, offset] pairs");
      }
      op.key_group_offsets.emplace_back(p[0].get<int32_t>(), p[1].get<uint64_t>());
    }
    if (auto it = o.find("incremental"); it != o.end()) {
      IncrementalKeyedState inc;
      const json& kgs = Field(*it, "key-groups");
      if (!kgs.is_array() || kgs.size() != 2) throw FieldError("key-groups: expected [start, end]");
      inc.key_group_start = kgs[0].get<int32_t>();
      inc.key_group_end = kgs[1].get<int32_t>();
      auto files = [](const json& a, std::vector<StateFile>* out) {
        for (const json& f : a) {
          if (!f.is_array() || f.size() != 4) {
            throw FieldError("expected [name, path, size, uploaded-by] files");
          }
          out->push_back({f[0].get<std::string>(), f[1].get<std::string>(), f[2].get<int64_t>(),
                          f[3].get<int64_t>()});
        }
      };
      files(Field(*it, "shared-files"), &inc.shared_files);
      files(Field(*it, "private-files"), &inc.private_files);
      inc.checkpointed_size = Field(*it, "checkpointed-size").get<int64_t>();
      op.incremental = std::move(inc);
    }
    s.operators.push_back(std::move(op));
  }
  return s;
}

}  // namespace

// --- base64 ------------------------------------------------------------------------------

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

absl::StatusOr<std::string> Base64Decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) {
    return DataLossF("invalid base64: length {} is not a multiple of 4", text.size());
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int d = k >= 4 - pad ? 0 : value(text[i + k]);
      if (d < 0) {
        return DataLossF("invalid base64: unexpected character {:#04x} at offset {}",
                         static_cast<uint8_t>(text[i + k]), i + k);
      }
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<char>(v >> 16));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xff));
  }
  return out;
}

// --- JSON --------------------------------------------------------------------------------

std::string EncodeMetadataJson(const CheckpointMetadata& m) {
  json vertices = json::array();
  for (const auto& [id, p] : m.vertices) vertices.push_back({{"id", id}, {"parallelism", p}});
  json subtasks = json::array();
  for (const SubtaskStateHandle& s : m.subtasks) subtasks.push_back(SubtaskToJson(s));
  json j = {{"format-version", kMetadataFormatVersion},
            {"job-id", m.job_id},
            {"checkpoint-id", m.checkpoint_id},
            {"timestamp", m.timestamp_ms},
            {"max-parallelism", m.max_parallelism},
            {"vertices", std::move(vertices)},
            {"subtasks", std::move(subtasks)}};
  if (!m.coordinator_states.empty()) {
    json coordinators = json::object();
    for (const auto& [uid, state] : m.coordinator_states) coordinators[uid] = Base64Encode(state);
    j["coordinators"] = std::move(coordinators);
  }
  return j.dump(1);
}

absl::StatusOr<CheckpointMetadata> DecodeMetadataJson(std::string_view text,
                                                      std::string_view source) {
  try {
    json j = json::parse(text);
    int version = Field(j, "format-version").get<int>();
    if (version < 1 || version > kMetadataFormatVersion) {
      return InvalidArgumentF("checkpoint metadata {}: format-version {} is not supported (this "
                              "build reads version {})",
                              source, version, kMetadataFormatVersion);
    }
    CheckpointMetadata m;
    m.job_id = Field(j, "job-id").get<std::string>();
    m.checkpoint_id = Field(j, "checkpoint-id").get<int64_t>();
    m.timestamp_ms = Field(j, "timestamp").get<int64_t>();
    m.max_parallelism = Field(j, "max-parallelism").get<int32_t>();
    for (const json& v : Field(j, "vertices")) {
      m.vertices.emplace_back(Field(v, "id").get<std::string>(),
                              Field(v, "parallelism").get<int32_t>());
    }
    for (const json& s : Field(j, "subtasks")) m.subtasks.push_back(SubtaskFromJson(s));
    // Optional (absent before split enumerators): no bump of the format version, so older
    // builds still read metadata without it.
    if (auto it = j.find("coordinators"); it != j.end()) {
      for (const auto& [uid, text] : it->items()) {
        auto bytes = Base64Decode(text.get<std::string>());
        if (!bytes.ok()) {
          return DataLossF("corrupt checkpoint metadata {}: coordinator state of '{}': {}", source,
                           uid, bytes.status().message());
        }
        m.coordinator_states[uid] = std::move(*bytes);
      }
    }
    return m;
  } catch (const std::exception& e) {
    return DataLossF("corrupt checkpoint metadata {}: {}", source, e.what());
  }
}

std::string EncodeSubtaskStateHandle(const SubtaskStateHandle& handle) {
  json j = SubtaskToJson(handle);
  j["format-version"] = kMetadataFormatVersion;
  return j.dump();
}

absl::StatusOr<SubtaskStateHandle> DecodeSubtaskStateHandle(std::string_view encoded) {
  try {
    json j = json::parse(encoded);
    int version = Field(j, "format-version").get<int>();
    if (version < 1 || version > kMetadataFormatVersion) {
      return InvalidArgumentF("subtask state handle: format-version {} is not supported (this "
                              "build reads version {})",
                              version, kMetadataFormatVersion);
    }
    return SubtaskFromJson(j);
  } catch (const std::exception& e) {
    return DataLossF("corrupt subtask state handle: {}", e.what());
  }
}

// --- CheckpointStorage -------------------------------------------------------------------

CheckpointStorage::CheckpointStorage(std::string root, std::string job_id)
    : root_(std::move(root)), job_id_(std::move(job_id)) {}

std::string CheckpointStorage::JobDir() const { return (fs::path(root_) / job_id_).string(); }
std::string CheckpointStorage::CheckpointDir(int64_t n) const {
  return (fs::path(root_) / job_id_ / fmt::format("{}{}", kCheckpointDirPrefix, n)).string();
}
std::string CheckpointStorage::SharedDir() const {
  return (fs::path(root_) / job_id_ / kSharedDirName).string();
}
std::string CheckpointStorage::TaskOwnedDir() const {
  return (fs::path(root_) / job_id_ / kTaskOwnedDirName).string();
}

absl::Status CheckpointStorage::InitializeBaseLocations() const {
  RETURN_IF_ERROR(CreateDirs(SharedDir()));
  return CreateDirs(TaskOwnedDir());
}

absl::StatusOr<std::string> CheckpointStorage::WriteStateFile(int64_t n, std::string_view name,
                                                              std::string_view bytes) const {
  if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == ".." ||
      name == kMetadataFileName || name.ends_with(".tmp")) {
    return InvalidArgumentF("state file name \"{}\" for checkpoint {} of job {}: expected a "
                            "plain file name (no '/', not \"_metadata\", no \".tmp\" suffix)",
                            name, n, job_id_);
  }
  RETURN_IF_ERROR(InitializeBaseLocations());
  const std::string dir = CheckpointDir(n);
  RETURN_IF_ERROR(CreateDirs(dir));
  RETURN_IF_ERROR(WriteFileAtomically((fs::path(dir) / name).string(), bytes));
  return std::string(name);
}

absl::Status CheckpointStorage::WriteMetadata(const CheckpointMetadata& metadata) const {
  if (metadata.job_id != job_id_) {
    return InvalidArgumentF("checkpoint {} metadata is for job {}, this storage is for job {}",
                            metadata.checkpoint_id, metadata.job_id, job_id_);
  }
  RETURN_IF_ERROR(InitializeBaseLocations());
  const std::string dir = CheckpointDir(metadata.checkpoint_id);
  RETURN_IF_ERROR(CreateDirs(dir));
  RETURN_IF_ERROR(WriteFileAtomically((fs::path(dir) / kMetadataFileName).string(),
                                      EncodeMetadataJson(metadata)));
  // Make the rename (and the state files' names) durable, then the chk-<n> entry itself.
  RETURN_IF_ERROR(FsyncPath(dir, /*directory=*/true));
  return FsyncPath(JobDir(), /*directory=*/true);
}

namespace {

// Copies `from` to `to`.tmp, fsyncs it and renames it to `to`.
absl::Status CopyFileAtomically(const std::string& from, const std::string& to) {
  const std::string tmp = to + ".tmp";
  std::error_code ec;
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) return FsStatus(ec, fmt::format("cannot copy {} to", from), tmp);
  absl::Status s = FsyncPath(tmp, /*directory=*/false);
  if (s.ok() && ::rename(tmp.c_str(), to.c_str()) != 0) s = ErrnoStatus(errno, "cannot rename", tmp);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos && name != "." &&
         name != ".." && name != kMetadataFileName && !name.ends_with(".tmp");
}

}  // namespace

std::string ResolveStatePath(const std::string& checkpoint_dir, const std::string& relative) {
  return (fs::path(checkpoint_dir) / relative).lexically_normal().string();
}

absl::Status MakeSelfContained(const std::string& checkpoint_dir,
                               const std::string& savepoint_dir) {
  ASSIGN_OR_RETURN(CheckpointMetadata md, CheckpointStorage::ReadMetadata(savepoint_dir));
  bool changed = false;
  for (auto& st : md.subtasks) {
    for (auto& op : st.operators) {
      if (!op.incremental) continue;
      for (auto& f : op.incremental->shared_files) {
        const std::string from = ResolveStatePath(checkpoint_dir, f.path);
        const std::string name = fs::path(f.path).filename().string();
        const std::string rel = fmt::format("{}/{}", kSharedDirName, name);
        RETURN_IF_ERROR(CreateDirs((fs::path(savepoint_dir) / kSharedDirName).string()));
        // SST files are immutable: a hard link (same file system) is an independent copy as
        // far as deletion goes, and free; otherwise copy.
        const std::string to = (fs::path(savepoint_dir) / rel).string();
        if (::link(from.c_str(), to.c_str()) != 0) RETURN_IF_ERROR(CopyFileAtomically(from, to));
        f.path = rel;
        changed = true;
      }
    }
  }
  if (!changed) return absl::OkStatus();
  RETURN_IF_ERROR(WriteFileAtomically((fs::path(savepoint_dir) / kMetadataFileName).string(),
                                      EncodeMetadataJson(md)));
  return FsyncPath(savepoint_dir, /*directory=*/true);
}

absl::StatusOr<std::string> CheckpointStorage::UploadSharedFile(const std::string& local_path,
                                                                std::string_view name) const {
  if (!IsPlainFileName(name)) {
    return InvalidArgumentF("shared state file name \"{}\" of job {}: expected a plain file name",
                            name, job_id_);
  }
  RETURN_IF_ERROR(InitializeBaseLocations());
  RETURN_IF_ERROR(CopyFileAtomically(local_path, (fs::path(SharedDir()) / name).string()));
  return fmt::format("../{}/{}", kSharedDirName, name);
}

absl::StatusOr<std::string> CheckpointStorage::UploadStateFile(int64_t n,
                                                               const std::string& local_path,
                                                               std::string_view name) const {
  if (!IsPlainFileName(name)) {
    return InvalidArgumentF("state file name \"{}\" for checkpoint {} of job {}: expected a "
                            "plain file name",
                            name, n, job_id_);
  }
  RETURN_IF_ERROR(InitializeBaseLocations());
  const std::string dir = CheckpointDir(n);
  RETURN_IF_ERROR(CreateDirs(dir));
  RETURN_IF_ERROR(CopyFileAtomically(local_path, (fs::path(dir) / name).string()));
  return std::string(name);
}

absl::Status CheckpointStorage::DeleteFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "cannot remove", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointMetadata> CheckpointStorage::ReadMetadata(const std::string& path) {
  std::error_code ec;
  fs::path p(path);
  fs::path dir, file;
  if (p.filename() == kMetadataFileName) {
    file = p;
    dir = p.parent_path();
  } else {
    dir = p;
    file = p / kMetadataFileName;
  }
  if (!fs::is_directory(dir, ec)) {
    return NotFoundF("checkpoint directory {} does not exist", dir.string());
  }
  if (!fs::exists(file, ec)) {
    return NotFoundF("no {} in {}: not a completed checkpoint", kMetadataFileName, dir.string());
  }
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(file.string()));
  return DecodeMetadataJson(text, file.string());
}

absl::StatusOr<std::string> CheckpointStorage::ReadFile(const std::string& path) {
  return ReadWholeFile(path);
}

absl::StatusOr<std::string> CheckpointStorage::ReadStateFile(const std::string& checkpoint_dir,
                                                             const std::string& relative) {
  if (relative.empty() || fs::path(relative).is_absolute()) {
    return InvalidArgumentF("state file path \"{}\" in {}: expected a relative path", relative,
                            checkpoint_dir);
  }
  return ReadWholeFile((fs::path(checkpoint_dir) / relative).string());
}

absl::StatusOr<std::vector<int64_t>> CheckpointStorage::ListCompleted() const {
  std::vector<int64_t> ids;
  const std::string job_dir = JobDir();
  std::error_code ec;
  if (!fs::exists(job_dir, ec)) return ids;
  fs::directory_iterator it(job_dir, ec);
  if (ec) return FsStatus(ec, "cannot list", job_dir);
  for (const fs::directory_entry& e : it) {
    std::optional<int64_t> n = ParseCheckpointDirName(e.path().filename().string());
    if (!n.has_value()) continue;
    std::error_code ec2;
    if (!e.is_directory(ec2)) continue;
    if (!fs::is_regular_file(e.path() / kMetadataFileName, ec2)) continue;
    ids.push_back(*n);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<std::optional<int64_t>> CheckpointStorage::LatestCompleted() const {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, ListCompleted());
  if (ids.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(ids.back());
}

absl::Status CheckpointStorage::Discard(int64_t n) const {
  const std::string dir = CheckpointDir(n);
  const std::string metadata = (fs::path(dir) / kMetadataFileName).string();
  if (::unlink(metadata.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "cannot remove", metadata);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return FsStatus(ec, "cannot remove", dir);
  return absl::OkStatus();
}

}  // namespace sluice::checkpoint
