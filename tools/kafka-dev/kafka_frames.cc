#include "tools/kafka-dev/kafka_frames.h"

#include <algorithm>
#include <string>

#include "fmt/format.h"
#include "runtime/base/status.h"

namespace sluice::tools::kafka {
namespace {

// Big-endian reads with bounds checks; `field` names what is read in the error.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data, size_t offset = 0)
      : data_(data), offset_(offset) {}

  size_t offset() const { return offset_; }

  absl::StatusOr<int64_t> Int(int bytes, const char* field) {
    if (offset_ + bytes > data_.size()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: needs {} bytes at offset {}, the frame has {}", field, bytes, offset_,
                      data_.size()));
    }
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value = (value << 8) | data_[offset_ + i];
    offset_ += bytes;
    // Sign-extend from `bytes` bytes.
    int shift = 64 - 8 * bytes;
    return static_cast<int64_t>(value << shift) >> shift;
  }

  absl::Status Skip(int64_t bytes, const char* field) {
    if (bytes < 0 || offset_ + static_cast<uint64_t>(bytes) > data_.size()) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: {} bytes at offset {} run past the frame's {}", field, bytes, offset_, data_.size()));
    }
    offset_ += static_cast<size_t>(bytes);
    return absl::OkStatus();
  }

  // int16 length + bytes; -1 (null) is allowed.
  absl::Status SkipString(const char* field) {
    auto length = Int(2, field);
    if (!length.ok()) return length.status();
    if (*length == -1) return absl::OkStatus();
    return Skip(*length, field);
  }

  absl::StatusOr<std::string> String(const char* field) {
    auto length = Int(2, field);
    if (!length.ok()) return length.status();
    if (*length < 0) return std::string();
    size_t at = offset_;
    RETURN_IF_ERROR(Skip(*length, field));
    return std::string(reinterpret_cast<const char*>(data_.data()) + at,
                       static_cast<size_t>(*length));
  }

  std::span<const uint8_t> Slice(size_t from, size_t to) const {
    return data_.subspan(from, to - from);
  }

  // An int32 array count; -1 (null) reads as 0.
  absl::StatusOr<int64_t> ArrayCount(const char* field) {
    auto count = Int(4, field);
    if (!count.ok()) return count.status();
    if (*count < -1 || *count > static_cast<int64_t>(data_.size())) {
      return absl::InvalidArgumentError(fmt::format("{}: bad array length {}", field, *count));
    }
    return *count < 0 ? 0 : *count;
  }

 private:
  std::span<const uint8_t> data_;
  size_t offset_;
};

// Big-endian appends.
class Writer {
 public:
  explicit Writer(std::vector<uint8_t>* out) : out_(out) {}
  void Int(int64_t value, int bytes) {
    auto v = static_cast<uint64_t>(value);
    for (int i = bytes - 1; i >= 0; --i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void String(const std::string& s) {
    Int(static_cast<int64_t>(s.size()), 2);
    out_->insert(out_->end(), s.begin(), s.end());
  }
  void Raw(const std::vector<uint8_t>& bytes) {
    out_->insert(out_->end(), bytes.begin(), bytes.end());
  }

 private:
  std::vector<uint8_t>* out_;
};

void PutInt32(std::span<uint8_t> frame, size_t offset, int32_t value) {
  auto v = static_cast<uint32_t>(value);
  frame[offset] = static_cast<uint8_t>(v >> 24);
  frame[offset + 1] = static_cast<uint8_t>(v >> 16);
  frame[offset + 2] = static_cast<uint8_t>(v >> 8);
  frame[offset + 3] = static_cast<uint8_t>(v);
}

// Reads the int32 port at the reader's offset and replaces it when `ports` maps it.
absl::Status RewritePortAt(Reader& in, std::span<uint8_t> frame, const PortMap& ports) {
  size_t at = in.offset();
  ASSIGN_OR_RETURN(int64_t port, in.Int(4, "port"));
  auto it = ports.find(static_cast<int32_t>(port));
  if (it != ports.end()) PutInt32(frame, at, it->second);
  return absl::OkStatus();
}

// The request is `key` at a version this file parses.
absl::Status CheckRequest(const RequestHeader& header, ApiKey key, const char* name,
                          int16_t max_version) {
  if (header.api_key == static_cast<int16_t>(key) && header.api_version <= max_version) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      fmt::format("not a {} request of version 0..{} (api key {} version {})", name, max_version,
                  header.api_key, header.api_version));
}

}  // namespace

absl::StatusOr<RequestHeader> ParseRequestHeader(std::span<const uint8_t> frame) {
  Reader in(frame);
  RequestHeader header;
  ASSIGN_OR_RETURN(int64_t api_key, in.Int(2, "request api_key"));
  ASSIGN_OR_RETURN(int64_t api_version, in.Int(2, "request api_version"));
  ASSIGN_OR_RETURN(int64_t correlation_id, in.Int(4, "request correlation_id"));
  RETURN_IF_ERROR(in.SkipString("request client_id"));
  header.api_key = static_cast<int16_t>(api_key);
  header.api_version = static_cast<int16_t>(api_version);
  header.correlation_id = static_cast<int32_t>(correlation_id);
  header.body_offset = in.offset();
  return header;
}

absl::StatusOr<int32_t> ReplaceFetchMaxWait(std::span<uint8_t> frame, const RequestHeader& header,
                                            int32_t max_wait_ms) {
  RETURN_IF_ERROR(CheckRequest(header, ApiKey::kFetch, "Fetch", kMaxFetchVersion));
  Reader in(frame, header.body_offset);
  RETURN_IF_ERROR(in.Skip(4, "Fetch replica_id"));
  size_t at = in.offset();
  ASSIGN_OR_RETURN(int64_t old_wait, in.Int(4, "Fetch max_wait_ms"));
  PutInt32(frame, at, max_wait_ms);
  return static_cast<int32_t>(old_wait);
}

absl::StatusOr<bool> FetchResponseHasNews(std::span<const uint8_t> frame, int16_t version) {
  if (version < 0 || version > kMaxFetchVersion) {
    return absl::InvalidArgumentError(fmt::format("Fetch response version {} is not 0..{}",
                                                  version, kMaxFetchVersion));
  }
  Reader in(frame);
  RETURN_IF_ERROR(in.Skip(4, "correlation_id"));
  if (version >= 1) RETURN_IF_ERROR(in.Skip(4, "throttle_time_ms"));
  if (version >= 7) {
    ASSIGN_OR_RETURN(int64_t error, in.Int(2, "error_code"));
    if (error != 0) return true;
    RETURN_IF_ERROR(in.Skip(4, "session_id"));
  }
  ASSIGN_OR_RETURN(int64_t topics, in.ArrayCount("responses"));
  for (int64_t t = 0; t < topics; ++t) {
    RETURN_IF_ERROR(in.SkipString("topic"));
    ASSIGN_OR_RETURN(int64_t partitions, in.ArrayCount("partitions"));
    for (int64_t p = 0; p < partitions; ++p) {
      RETURN_IF_ERROR(in.Skip(4, "partition_index"));
      ASSIGN_OR_RETURN(int64_t error, in.Int(2, "partition error_code"));
      if (error != 0) return true;
      RETURN_IF_ERROR(in.Skip(8, "high_watermark"));
      if (version >= 4) RETURN_IF_ERROR(in.Skip(8, "last_stable_offset"));
      if (version >= 5) RETURN_IF_ERROR(in.Skip(8, "log_start_offset"));
      if (version >= 4) {
        ASSIGN_OR_RETURN(int64_t aborted, in.ArrayCount("aborted_transactions"));
        RETURN_IF_ERROR(in.Skip(aborted * 16, "aborted_transactions"));
      }
      if (version >= 11) RETURN_IF_ERROR(in.Skip(4, "preferred_read_replica"));
      ASSIGN_OR_RETURN(int64_t records, in.Int(4, "records"));
      if (records > 0) return true;
    }
  }
  return false;
}

absl::StatusOr<bool> ProduceExpectsResponse(std::span<const uint8_t> frame,
                                            const RequestHeader& header) {
  RETURN_IF_ERROR(CheckRequest(header, ApiKey::kProduce, "Produce", kMaxProduceVersion));
  Reader in(frame, header.body_offset);
  if (header.api_version >= 3) RETURN_IF_ERROR(in.SkipString("Produce transactional_id"));
  ASSIGN_OR_RETURN(int64_t acks, in.Int(2, "Produce acks"));
  return acks != 0;
}

absl::Status RewriteBrokerPorts(std::span<uint8_t> frame, ApiKey api_key, int16_t version,
                                const PortMap& ports) {
  Reader in(frame);
  RETURN_IF_ERROR(in.Skip(4, "correlation_id"));
  if (api_key == ApiKey::kMetadata) {
    if (version < 0 || version > kMaxMetadataVersion) {
      return absl::InvalidArgumentError(fmt::format("Metadata response version {} is not 0..{}",
                                                    version, kMaxMetadataVersion));
    }
    ASSIGN_OR_RETURN(int64_t brokers, in.ArrayCount("brokers"));
    for (int64_t b = 0; b < brokers; ++b) {
      RETURN_IF_ERROR(in.Skip(4, "broker node_id"));
      RETURN_IF_ERROR(in.SkipString("broker host"));
      RETURN_IF_ERROR(RewritePortAt(in, frame, ports));
      if (version >= 1) RETURN_IF_ERROR(in.SkipString("broker rack"));
    }
    return absl::OkStatus();
  }
  if (api_key == ApiKey::kFindCoordinator) {
    if (version < 0 || version > kMaxFindCoordinatorVersion) {
      return absl::InvalidArgumentError(
          fmt::format("FindCoordinator response version {} is not 0..{}", version,
                      kMaxFindCoordinatorVersion));
    }
    if (version >= 1) RETURN_IF_ERROR(in.Skip(4, "throttle_time_ms"));
    RETURN_IF_ERROR(in.Skip(2, "error_code"));
    if (version >= 1) RETURN_IF_ERROR(in.SkipString("error_message"));
    RETURN_IF_ERROR(in.Skip(4, "node_id"));
    RETURN_IF_ERROR(in.SkipString("host"));
    return RewritePortAt(in, frame, ports);
  }
  return absl::InvalidArgumentError(
      fmt::format("api key {} names no brokers", static_cast<int>(api_key)));
}

absl::StatusOr<std::vector<FetchRequestPartition>> ParseFetchRequestPartitions(
    std::span<const uint8_t> frame, const RequestHeader& header) {
  const int16_t v = header.api_version;
  if (header.api_key != static_cast<int16_t>(ApiKey::kFetch) || v > kMaxFetchVersion) {
    return absl::InvalidArgumentError("not a Fetch request of a known version");
  }
  Reader in(frame, header.body_offset);
  RETURN_IF_ERROR(in.Skip(12, "Fetch replica_id, max_wait_ms, min_bytes"));
  if (v >= 3) RETURN_IF_ERROR(in.Skip(4, "Fetch max_bytes"));
  if (v >= 4) RETURN_IF_ERROR(in.Skip(1, "Fetch isolation_level"));
  if (v >= 7) RETURN_IF_ERROR(in.Skip(8, "Fetch session_id, session_epoch"));
  std::vector<FetchRequestPartition> out;
  ASSIGN_OR_RETURN(int64_t topics, in.ArrayCount("Fetch topics"));
  for (int64_t t = 0; t < topics; ++t) {
    ASSIGN_OR_RETURN(std::string topic, in.String("Fetch topic"));
    ASSIGN_OR_RETURN(int64_t partitions, in.ArrayCount("Fetch partitions"));
    for (int64_t p = 0; p < partitions; ++p) {
      FetchRequestPartition part;
      part.topic = topic;
      ASSIGN_OR_RETURN(int64_t index, in.Int(4, "Fetch partition"));
      part.partition = static_cast<int32_t>(index);
      if (v >= 9) RETURN_IF_ERROR(in.Skip(4, "Fetch current_leader_epoch"));
      part.fetch_offset_at = in.offset();
      RETURN_IF_ERROR(in.Skip(8, "Fetch fetch_offset"));
      if (v >= 5) RETURN_IF_ERROR(in.Skip(8, "Fetch log_start_offset"));
      RETURN_IF_ERROR(in.Skip(4, "Fetch partition_max_bytes"));
      out.push_back(std::move(part));
    }
  }
  return out;
}

void SetFetchOffset(std::span<uint8_t> frame, const FetchRequestPartition& partition,
                    int64_t offset) {
  auto v = static_cast<uint64_t>(offset);
  for (int i = 0; i < 8; ++i) {
    frame[partition.fetch_offset_at + i] = static_cast<uint8_t>(v >> (8 * (7 - i)));
  }
}

absl::StatusOr<FetchResponse> ParseFetchResponse(std::span<const uint8_t> frame,
                                                 int16_t version) {
  if (version < 0 || version > kMaxFetchVersion) {
    return absl::InvalidArgumentError(fmt::format("Fetch response version {} is not 0..{}",
                                                  version, kMaxFetchVersion));
  }
  FetchResponse r;
  r.version = version;
  Reader in(frame);
  ASSIGN_OR_RETURN(int64_t correlation_id, in.Int(4, "correlation_id"));
  r.correlation_id = static_cast<int32_t>(correlation_id);
  if (version >= 1) {
    ASSIGN_OR_RETURN(int64_t throttle, in.Int(4, "throttle_time_ms"));
    r.throttle_time_ms = static_cast<int32_t>(throttle);
  }
  if (version >= 7) {
    ASSIGN_OR_RETURN(int64_t error, in.Int(2, "error_code"));
    ASSIGN_OR_RETURN(int64_t session, in.Int(4, "session_id"));
    r.error_code = static_cast<int16_t>(error);
    r.session_id = static_cast<int32_t>(session);
  }
  ASSIGN_OR_RETURN(int64_t topics, in.ArrayCount("responses"));
  for (int64_t t = 0; t < topics; ++t) {
    FetchResponseTopic& topic = r.topics.emplace_back();
    ASSIGN_OR_RETURN(topic.topic, in.String("topic"));
    ASSIGN_OR_RETURN(int64_t partitions, in.ArrayCount("partitions"));
    for (int64_t p = 0; p < partitions; ++p) {
      FetchResponsePartition& part = topic.partitions.emplace_back();
      ASSIGN_OR_RETURN(int64_t index, in.Int(4, "partition_index"));
      ASSIGN_OR_RETURN(int64_t error, in.Int(2, "partition error_code"));
      ASSIGN_OR_RETURN(part.high_watermark, in.Int(8, "high_watermark"));
      part.partition = static_cast<int32_t>(index);
      part.error_code = static_cast<int16_t>(error);
      if (version >= 4) {
        ASSIGN_OR_RETURN(part.last_stable_offset, in.Int(8, "last_stable_offset"));
      }
      if (version >= 5) {
        ASSIGN_OR_RETURN(part.log_start_offset, in.Int(8, "log_start_offset"));
      }
      if (version >= 4) {
        size_t from = in.offset();
        ASSIGN_OR_RETURN(int64_t aborted, in.ArrayCount("aborted_transactions"));
        RETURN_IF_ERROR(in.Skip(aborted * 16, "aborted_transactions"));
        auto raw = in.Slice(from, in.offset());
        part.aborted_transactions.assign(raw.begin(), raw.end());
      }
      if (version >= 11) {
        ASSIGN_OR_RETURN(int64_t replica, in.Int(4, "preferred_read_replica"));
        part.preferred_read_replica = static_cast<int32_t>(replica);
      }
      ASSIGN_OR_RETURN(int64_t length, in.Int(4, "records"));
      part.null_records = length < 0;
      size_t from = in.offset();
      RETURN_IF_ERROR(in.Skip(std::max<int64_t>(length, 0), "records"));
      auto raw = in.Slice(from, in.offset());
      part.records.assign(raw.begin(), raw.end());
    }
  }
  return r;
}

std::vector<uint8_t> SerializeFetchResponse(const FetchResponse& r) {
  std::vector<uint8_t> out;
  Writer w(&out);
  w.Int(r.correlation_id, 4);
  if (r.version >= 1) w.Int(r.throttle_time_ms, 4);
  if (r.version >= 7) {
    w.Int(r.error_code, 2);
    w.Int(r.session_id, 4);
  }
  w.Int(static_cast<int64_t>(r.topics.size()), 4);
  for (const FetchResponseTopic& topic : r.topics) {
    w.String(topic.topic);
    w.Int(static_cast<int64_t>(topic.partitions.size()), 4);
    for (const FetchResponsePartition& p : topic.partitions) {
      w.Int(p.partition, 4);
      w.Int(p.error_code, 2);
      w.Int(p.high_watermark, 8);
      if (r.version >= 4) w.Int(p.last_stable_offset, 8);
      if (r.version >= 5) w.Int(p.log_start_offset, 8);
      if (r.version >= 4) w.Raw(p.aborted_transactions);
      if (r.version >= 11) w.Int(p.preferred_read_replica, 4);
      if (p.null_records && p.records.empty()) {
        w.Int(-1, 4);
      } else {
        w.Int(static_cast<int64_t>(p.records.size()), 4);
        w.Raw(p.records);
      }
    }
  }
  return out;
}

absl::StatusOr<std::optional<int64_t>> NextOffsetAfter(std::span<const uint8_t> records) {
  // RecordBatch v2: baseOffset int64, batchLength int32, partitionLeaderEpoch int32, magic int8,
  // crc int32, attributes int16, lastOffsetDelta int32, ...
  constexpr size_t kMagicAt = 16, kLastOffsetDeltaAt = 23, kHeader = 27;
  std::optional<int64_t> next;
  size_t at = 0;
  while (at + kHeader <= records.size()) {
    Reader in(records, at);
    ASSIGN_OR_RETURN(int64_t base_offset, in.Int(8, "baseOffset"));
    ASSIGN_OR_RETURN(int64_t batch_length, in.Int(4, "batchLength"));
    if (batch_length < 0 || at + 12 + static_cast<size_t>(batch_length) > records.size()) break;
    if (records[at + kMagicAt] != 2) {
      return absl::InvalidArgumentError(
          fmt::format("record batch magic {} (only 2 is read)", records[at + kMagicAt]));
    }
    Reader delta(records, at + kLastOffsetDeltaAt);
    ASSIGN_OR_RETURN(int64_t last_offset_delta, delta.Int(4, "lastOffsetDelta"));
    next = base_offset + last_offset_delta + 1;
    at += 12 + static_cast<size_t>(batch_length);
  }
  return next;
}

}  // namespace sluice::tools::kafka
