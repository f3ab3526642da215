#include "runtime/connectors/kafka/kafka_common.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/base/status.h"
#include "runtime/formats/state_codec.h"
#include "spdlog/spdlog.h"

namespace sluice::connectors::kafka {

namespace {
constexpr std::string_view kEventMagic = "KFKE";
constexpr uint32_t kEventVersion = 1;
}  // namespace

absl::StatusOr<TopicSelector> TopicSelector::Create(const std::vector<std::string>& topics,
                                                    const std::string& pattern, bool required,
                                                    std::string_view what) {
  if (!topics.empty() && !pattern.empty()) {
    return InvalidArgumentF(
        "{}: give either topics or a topic pattern, not both (topics [{}], pattern '{}')", what,
        fmt::join(topics, ", "), pattern);
  }
  if (required && topics.empty() && pattern.empty()) {
    return InvalidArgumentF("{}: no topics and no topic pattern to read", what);
  }
  TopicSelector s;
  for (const std::string& t : topics) {
    if (t.empty()) return InvalidArgumentF("{}: an empty topic name in topics", what);
  }
  s.topics_ = topics;
  if (!pattern.empty()) {
    try {
      s.pattern_.emplace(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return InvalidArgumentF("{}: topic pattern '{}' is not a valid regular expression: {}", what,
                              pattern, e.what());
    }
  }
  return s;
}

bool TopicSelector::Matches(const std::string& topic) const {
  if (pattern_.has_value()) {
    if (topic.size() >= 2 && topic[0] == '_' && topic[1] == '_') return false;
    try {
      return std::regex_match(topic, *pattern_);
    } catch (const std::regex_error&) {
      return false;  // too complex for std::regex on this name
    }
  }
  return std::find(topics_.begin(), topics_.end(), topic) != topics_.end();
}

absl::StatusOr<DiscoveredPartitions> DiscoverPartitions(rd_kafka_t* rk,
                                                        const TopicSelector& selector,
                                                        int64_t timeout_ms, std::string_view who,
                                                        std::string_view bootstrap_servers) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, /*all_topics=*/1, nullptr, &md, static_cast<int>(timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return UnavailableF("{}: cannot list the topics of the cluster at '{}' within {} ms: {}", who,
                        bootstrap_servers, timeout_ms, rd_kafka_err2str(err));
  }
  DiscoveredPartitions out;
  for (int t = 0; t < md->topic_cnt; ++t) {
    const rd_kafka_metadata_topic_t& topic = md->topics[t];
    std::string name(topic.topic);
    if (!selector.Matches(name)) continue;
    if (topic.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn("{}: topic '{}' skipped in this discovery: {}", who, name,
                   rd_kafka_err2str(topic.err));
      continue;
    }
    out.present.insert(name);
    std::vector<int32_t>& parts = out.partitions[name];
    for (int i = 0; i < topic.partition_cnt; ++i) {
      if (topic.partitions[i].leader < 0) continue;  // no leader yet: next time
      parts.push_back(topic.partitions[i].id);
    }
    std::sort(parts.begin(), parts.end());
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

KafkaPartitionSplit SplitStartingAt(const KafkaSourceOptions& opts, const std::string& topic,
                                    int32_t partition, bool configured_start) {
  KafkaPartitionSplit s;
  s.topic = topic;
  s.partition = partition;
  s.starting_offset = kEarliestOffset;
  if (!configured_start) return s;
  switch (opts.starting_offsets) {
    case StartingOffsets::kEarliest:
      break;
    case StartingOffsets::kLatest:
      s.starting_offset = kLatestOffset;
      break;
    case StartingOffsets::kTimestamp:
      s.starting_offset = kTimestampOffset;
      s.starting_timestamp_ms = opts.starting_timestamp_ms;
      break;
    case StartingOffsets::kGroupOffsets:
      s.starting_offset = kCommittedOffset;
      break;
  }
  return s;
}

std::string BootstrapServersOf(const KafkaSourceOptions& opts) {
  auto it = opts.properties.find("bootstrap.servers");
  return it != opts.properties.end() ? it->second : opts.bootstrap_servers;
}

absl::Status CheckBootstrapServers(const KafkaSourceOptions& opts, std::string_view what) {
  auto it = opts.properties.find("bootstrap.servers");
  if (it != opts.properties.end()) {
    if (!opts.bootstrap_servers.empty() && it->second != opts.bootstrap_servers) {
      return InvalidArgumentF("{}: bootstrap.servers is '{}' but properties set it to '{}'", what,
                              opts.bootstrap_servers, it->second);
    }
  } else if (opts.bootstrap_servers.empty()) {
    return InvalidArgumentF("{}: bootstrap.servers is required", what);
  }
  return absl::OkStatus();
}

std::string SanitizeClientId(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  return out;
}

void LogFromRdkafka(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  const char* name = rd_kafka_name(rk);
  if (level <= 3) {
    spdlog::error("kafka [{}] {}: {}", name, fac, buf);
  } else if (level == 4) {
    spdlog::warn("kafka [{}] {}: {}", name, fac, buf);
  } else if (level <= 6) {
    spdlog::info("kafka [{}] {}: {}", name, fac, buf);
  } else {
    spdlog::debug("kafka [{}] {}: {}", name, fac, buf);
  }
}

std::string EncodeReaderEvent(const KafkaReaderEvent& event) {
  formats::StateWriter w(kEventMagic, kEventVersion);
  w.U8(event.no_more_splits ? 1 : 0);
  w.U32(static_cast<uint32_t>(event.splits.size()));
  for (const KafkaPartitionSplit& s : event.splits) {
    w.Str(s.topic);
    w.U32(static_cast<uint32_t>(s.partition));
    w.I64(s.starting_offset);
    w.I64(s.starting_timestamp_ms);
    w.I64(s.stopping_offset);
  }
  return std::move(w).Finish();
}

absl::StatusOr<KafkaReaderEvent> DecodeReaderEvent(std::string_view bytes) {
  formats::StateReader r(bytes, "kafka source event");
  ASSIGN_OR_RETURN(uint32_t version, r.Header(kEventMagic));
  if (version != kEventVersion) {
    return FailedPreconditionF(
        "kafka source: enumerator event has format version {}; this version reads version {}",
        version, kEventVersion);
  }
  KafkaReaderEvent e;
  ASSIGN_OR_RETURN(uint8_t no_more, r.U8());
  e.no_more_splits = no_more != 0;
  ASSIGN_OR_RETURN(uint32_t n, r.U32());
  for (uint32_t k = 0; k < n; ++k) {
    KafkaPartitionSplit s;
    ASSIGN_OR_RETURN(s.topic, r.Str());
    ASSIGN_OR_RETURN(uint32_t partition, r.U32());
    s.partition = static_cast<int32_t>(partition);
    ASSIGN_OR_RETURN(s.starting_offset, r.I64());
    ASSIGN_OR_RETURN(s.starting_timestamp_ms, r.I64());
    ASSIGN_OR_RETURN(s.stopping_offset, r.I64());
    if (s.topic.empty() || s.partition < 0 || s.starting_offset < kTimestampOffset) {
      return InvalidArgumentF(
          "kafka source: enumerator event has an impossible split (topic '{}' partition {} "
          "starting offset {})",
          s.topic, s.partition, s.starting_offset);
    }
    e.splits.push_back(std::move(s));
  }
  RETURN_IF_ERROR(r.End());
  return e;
}

}  // namespace sluice::connectors::kafka
