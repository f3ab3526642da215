#include "runtime/connectors/kafka/kafka_enumerator.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/formats/state_codec.h"
#include "runtime/connectors/kafka/kafka_common.h"
#include "spdlog/spdlog.h"

namespace sluice::connectors::kafka {

namespace {

constexpr std::string_view kStateMagic = "KFKN";
constexpr uint32_t kStateVersion = 1;
constexpr int64_t kFirstDiscoveryRetryMs = 500;
constexpr int64_t kMaxRequestWaitMs = 5'000;

using SplitKey = std::pair<std::string, int32_t>;

}  // namespace

class KafkaSplitEnumerator::Impl {
 public:
  Impl(KafkaSourceOptions opts, std::string uid, api::SplitEnumeratorContext* ctx,
       TopicSelector selector)
      : opts_(std::move(opts)),
        uid_(std::move(uid)),
        who_(fmt::format("kafka source '{}' enumerator", uid_)),
        ctx_(ctx),
        selector_(std::move(selector)) {}

  ~Impl() {
    Close();
    if (thread_.joinable()) thread_.join();
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }

  absl::Status CreateClient() {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    std::vector<std::pair<std::string, std::string>> settings;
    if (!opts_.bootstrap_servers.empty() && opts_.properties.count("bootstrap.servers") == 0) {
      settings.emplace_back("bootstrap.servers", opts_.bootstrap_servers);
    }
    if (opts_.properties.count("client.id") == 0) {
      settings.emplace_back("client.id", SanitizeClientId(fmt::format("sluice-{}-enumerator", uid_)));
    }
    for (const auto& [key, value] : opts_.properties) {
      // Only Metadata requests are made: group settings and offset commits do not apply.
      if (key == "group.id" || key == "enable.auto.commit") continue;
      settings.emplace_back(key, value);
    }
    settings.emplace_back("enable.auto.commit", "false");
    for (const auto& [key, value] : settings) {
      if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) !=
          RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return InvalidArgumentF("{}: property {}='{}': {}", who_, key, value, err);
      }
    }
    rd_kafka_conf_set_log_cb(conf, LogFromRdkafka);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      return InvalidArgumentF("{}: cannot create the client: {}", who_, err);
    }
    return absl::OkStatus();
  }

  absl::Status RestoreState(std::string_view blob) {
    formats::StateReader r(blob, "kafka split enumerator state");
    ASSIGN_OR_RETURN(uint32_t version, r.Header(kStateMagic));
    if (version != kStateVersion) {
      return FailedPreconditionF(
          "{}: restored state has format version {}; this version reads version {}", who_,
          version, kStateVersion);
    }
    ASSIGN_OR_RETURN(uint8_t first, r.U8());
    ASSIGN_OR_RETURN(uint32_t n, r.U32());
    std::map<SplitKey, KafkaPartitionSplit> splits;
    for (uint32_t k = 0; k < n; ++k) {
      KafkaPartitionSplit s;
      ASSIGN_OR_RETURN(s.topic, r.Str());
      ASSIGN_OR_RETURN(uint32_t partition, r.U32());
      s.partition = static_cast<int32_t>(partition);
      ASSIGN_OR_RETURN(s.starting_offset, r.I64());
      ASSIGN_OR_RETURN(s.starting_timestamp_ms, r.I64());
      if (s.topic.empty() || s.partition < 0 || s.starting_offset < kTimestampOffset) {
        return DataLossF("{}: restored state is inconsistent at topic '{}' partition {}", who_,
                         s.topic, s.partition);
      }
      if (opts_.stop_at_latest) s.stopping_offset = kLatestOffset;
      splits[{s.topic, s.partition}] = std::move(s);
    }
    RETURN_IF_ERROR(r.End());
    std::lock_guard lock(mu_);
    first_discovery_done_ = first != 0;
    assigned_ = std::move(splits);
    spdlog::info("{}: restored {} assigned split(s), first discovery {}done", who_,
                 assigned_.size(), first_discovery_done_ ? "" : "not ");
    return absl::OkStatus();
  }

  void RestoredWithoutState() {
    std::lock_guard lock(mu_);
    first_discovery_done_ = true;
    spdlog::info(
        "{}: the restored checkpoint has no enumerator state (an older format); partitions the "
        "readers did not restore start at their earliest offset",
        who_);
  }

  absl::Status Start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable() || closing_) {
      return FailedPreconditionF("{}: started twice or after Close", who_);
    }
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  void AddReader(int32_t subtask) {
    KafkaReaderEvent event;
    {
      std::lock_guard lock(mu_);
      const int32_t parallelism = ctx_->parallelism();
      for (const auto& [key, split] : assigned_) {
        if (KafkaSplitOwner(split.topic, split.partition, parallelism) == subtask) {
          event.splits.push_back(split);
        }
      }
      event.no_more_splits = opts_.stop_at_latest && first_discovery_done_;
    }
    if (event.splits.empty() && !event.no_more_splits) return;
    spdlog::info("{}: reader {} registered; sending its {} split(s){}", who_, subtask,
                 event.splits.size(), event.no_more_splits ? " and no-more-splits" : "");
    ctx_->SendEventToReader(subtask, EncodeReaderEvent(event));
  }

  std::string SnapshotState() const {
    std::lock_guard lock(mu_);
    formats::StateWriter w(kStateMagic, kStateVersion);
    w.U8(first_discovery_done_ ? 1 : 0);
    w.U32(static_cast<uint32_t>(assigned_.size()));
    for (const auto& [key, s] : assigned_) {
      w.Str(s.topic);
      w.U32(static_cast<uint32_t>(s.partition));
      w.I64(s.starting_offset);
      w.I64(s.starting_timestamp_ms);
    }
    return std::move(w).Finish();
  }

  void Close() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
  }

  std::vector<KafkaPartitionSplit> AssignedSplits() const {
    std::lock_guard lock(mu_);
    std::vector<KafkaPartitionSplit> out;
    for (const auto& [key, s] : assigned_) out.push_back(s);
    return out;
  }

  bool FirstDiscoveryDone() const {
    std::lock_guard lock(mu_);
    return first_discovery_done_;
  }

 private:
  // The discovery thread.
  void Run() {
    int64_t failing_since = -1;
    int64_t last_report = std::numeric_limits<int64_t>::min() / 2;
    for (;;) {
      bool first_done;
      {
        std::lock_guard lock(mu_);
        if (closing_) return;
        first_done = first_discovery_done_;
      }
      // A restored enumerator whose first discovery was done, in bounded mode: nothing to find.
      if (first_done && opts_.stop_at_latest && !discovered_once_) {
        discovered_once_ = true;
        if (!WaitFor(-1)) return;
        continue;
      }
      absl::Status st = DiscoverOnce();
      const int64_t now = MonotonicMillis();
      if (st.ok()) {
        failing_since = -1;
        discovered_once_ = true;
        const bool again = !opts_.stop_at_latest && opts_.partition_discovery_interval_ms > 0;
        if (!WaitFor(again ? opts_.partition_discovery_interval_ms : -1)) return;
        continue;
      }
      if (discovered_once_) {
        spdlog::warn("{} (partition discovery retries in {} ms)", st.message(),
                     opts_.partition_discovery_interval_ms);
        if (!WaitFor(opts_.partition_discovery_interval_ms)) return;
        continue;
      }
      // The first discovery of this enumerator failed.
      if (failing_since < 0) failing_since = now;
      const bool give_up = st.code() == absl::StatusCode::kNotFound ||
                           now - failing_since >= opts_.request_timeout_ms;
      if (give_up && now - last_report >= opts_.request_timeout_ms) {
        last_report = now;
        spdlog::error("{}; failing the job", st.message());
        ctx_->FailJob(st.code() == absl::StatusCode::kNotFound
                          ? st
                          : Errorf(st.code(), "{} (first discovery failing for {} ms, request "
                                              "timeout {} ms)",
                                   st.message(), now - failing_since, opts_.request_timeout_ms));
      } else {
        spdlog::warn("{} (retrying)", st.message());
      }
      if (!WaitFor(kFirstDiscoveryRetryMs)) return;
    }
  }

  // Waits `ms` (< 0: until Close). False once closing.
  bool WaitFor(int64_t ms) {
    std::unique_lock lock(mu_);
    if (ms < 0) {
      cv_.wait(lock, [this] { return closing_; });
    } else {
      cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return closing_; });
    }
    return !closing_;
  }

  // One discovery: assigns new partitions and sends them to their readers.
  absl::Status DiscoverOnce() {
    const int64_t wait = std::min(opts_.request_timeout_ms, kMaxRequestWaitMs);
    auto found = DiscoverPartitions(rk_, selector_, wait, who_, BootstrapServersOf(opts_));
    if (!found.ok()) return found.status();
    std::map<int32_t, KafkaReaderEvent> events;  // by reader subtask
    bool first;
    {
      std::lock_guard lock(mu_);
      first = !first_discovery_done_;
      if (first && opts_.stop_at_latest) {
        for (const std::string& t : selector_.topics()) {
          if (found->present.count(t) == 0) {
            return NotFoundF("{}: topic '{}' does not exist at '{}' (bounded read)", who_, t,
                             BootstrapServersOf(opts_));
          }
        }
      }
      const int32_t parallelism = ctx_->parallelism();
      for (const auto& [topic, parts] : found->partitions) {
        for (int32_t p : parts) {
          if (assigned_.count({topic, p}) > 0) continue;
          KafkaPartitionSplit s = StartFor(topic, p, first);
          events[KafkaSplitOwner(topic, p, parallelism)].splits.push_back(s);
          assigned_[{topic, p}] = std::move(s);
        }
      }
      first_discovery_done_ = true;
      if (first && opts_.stop_at_latest) {
        for (int32_t i = 0; i < parallelism; ++i) events[i].no_more_splits = true;
      }
    }
    for (const std::string& t : selector_.topics()) {
      if (found->present.count(t) > 0 || missing_warned_.count(t) > 0) continue;
      missing_warned_.insert(t);
      spdlog::warn("{}: topic '{}' does not exist (yet); discovery looks again", who_, t);
    }
    size_t added = 0;
    for (const auto& [subtask, e] : events) added += e.splits.size();
    if (added > 0 || first) {
      spdlog::info("{}: {} discovery assigned {} new split(s) to {} reader(s)", who_,
                   first ? "first" : "periodic", added, events.size());
    }
    // Outside the lock: the context only queues. A reader that is not running drops the event
    // and gets its splits again from AddReader.
    for (auto& [subtask, e] : events) ctx_->SendEventToReader(subtask, EncodeReaderEvent(e));
    return absl::OkStatus();
  }

  KafkaPartitionSplit StartFor(const std::string& topic, int32_t partition, bool first) const {
    KafkaPartitionSplit s = SplitStartingAt(opts_, topic, partition, first);
    if (opts_.stop_at_latest) s.stopping_offset = kLatestOffset;
    return s;
  }

  const KafkaSourceOptions opts_;
  const std::string uid_;
  const std::string who_;
  api::SplitEnumeratorContext* const ctx_;
  const TopicSelector selector_;
  rd_kafka_t* rk_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;
  bool first_discovery_done_ = false;
  std::map<SplitKey, KafkaPartitionSplit> assigned_;
  std::thread thread_;

  // Discovery thread only.
  bool discovered_once_ = false;
  std::set<std::string> missing_warned_;
};

absl::StatusOr<std::unique_ptr<KafkaSplitEnumerator>> KafkaSplitEnumerator::Create(
    const KafkaSourceOptions& opts, const std::string& uid,
    api::SplitEnumeratorContext* context) {
  const std::string who = fmt::format("kafka source '{}' enumerator", uid);
  if (context == nullptr) return InvalidArgumentF("{}: no context", who);
  ASSIGN_OR_RETURN(TopicSelector selector,
                   TopicSelector::Create(opts.topics, opts.topic_pattern, true, who));
  RETURN_IF_ERROR(CheckBootstrapServers(opts, who));
  if (opts.request_timeout_ms <= 0) {
    return InvalidArgumentF("{}: request timeout must be > 0 ms, found {}", who,
                            opts.request_timeout_ms);
  }
  if (opts.starting_offsets == StartingOffsets::kTimestamp && opts.starting_timestamp_ms < 0) {
    return InvalidArgumentF("{}: starting offsets timestamp need starting-timestamp (epoch ms >= "
                            "0), found {}",
                            who, opts.starting_timestamp_ms);
  }
  auto impl = std::make_unique<Impl>(opts, uid, context, std::move(selector));
  RETURN_IF_ERROR(impl->CreateClient());
  return std::unique_ptr<KafkaSplitEnumerator>(new KafkaSplitEnumerator(std::move(impl)));
}

KafkaSplitEnumerator::KafkaSplitEnumerator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaSplitEnumerator::~KafkaSplitEnumerator() = default;

absl::Status KafkaSplitEnumerator::RestoreState(std::string_view state) {
  return impl_->RestoreState(state);
}
void KafkaSplitEnumerator::RestoredWithoutState() { impl_->RestoredWithoutState(); }
absl::Status KafkaSplitEnumerator::Start() { return impl_->Start(); }
void KafkaSplitEnumerator::AddReader(int32_t subtask) { impl_->AddReader(subtask); }
absl::StatusOr<std::string> KafkaSplitEnumerator::SnapshotState(int64_t /*checkpoint_id*/) {
  return impl_->SnapshotState();
}
void KafkaSplitEnumerator::Close() { impl_->Close(); }
std::vector<KafkaPartitionSplit> KafkaSplitEnumerator::AssignedSplits() const {
  return impl_->AssignedSplits();
}
bool KafkaSplitEnumerator::FirstDiscoveryDone() const { return impl_->FirstDiscoveryDone(); }

api::SplitEnumeratorFactory MakeKafkaSplitEnumeratorFactory(KafkaSourceOptions opts,
                                                                  std::string uid) {
  return [opts = std::move(opts), uid = std::move(uid)](api::SplitEnumeratorContext* ctx)
             -> absl::StatusOr<std::unique_ptr<api::SplitEnumerator>> {
    ASSIGN_OR_RETURN(auto e, KafkaSplitEnumerator::Create(opts, uid, ctx));
    return std::unique_ptr<api::SplitEnumerator>(std::move(e));
  };
}

}  // namespace sluice::connectors::kafka
