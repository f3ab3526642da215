// sluice-latency-probe: the independent producer and consumer of the latency benchmark
// (benchmarks/latency_bench.py, issue 15). It stamps records with their creation time and
// measures when they come back; it knows nothing of Sluice.
//
//   sluice-latency-probe kafka --bootstrap BS --input IN --output OUT --rate R --duration S
//       Produces R records/s (0 = as fast as it can) for S seconds to topic IN, each the CSV line
//       "<seq>,<creation epoch µs>,<padding>" (linger.ms 0, Nagle off), while a consumer assigned
//       to every partition of OUT at its end reads the job's output and takes
//       latency = arrival - creation from field --field (default 1). IN = OUT measures the
//       broker and the probe alone (the "direct" figure). "to_sink" in the output: creation ->
//       the output message's timestamp (when the job's sink produced it; ms resolution), the
//       part of the latency before the sink's producer.
//   sluice-latency-probe tail --file F [--file F2 ...] --field N --unit ms --duration S
//       Follows files (inotify) for lines such as a print sink's "2> 17,1733280000123,..." and
//       takes latency = arrival - the field's value (an epoch timestamp in --unit).
//   sluice-latency-probe dir --dir D --field N --unit ms --duration S
//       Watches directory D (inotify) for files that appear committed, a file sink's
//       "part-*" renamed into place, reads each whole and takes latency = the time the file
//       appeared - each line's stamp (the latency of an exactly-once sink).
//
// Prints one JSON line (latency_stats.h) on stdout; warm-up samples (--warmup) are left out.
// Exit codes: 0, 2 on bad flags, 1 on a Kafka or file error.

#include <librdkafka/rdkafka.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "benchmarks/latency/latency_stats.h"
#include "fmt/format.h"

namespace sluice::bench {
namespace {

int64_t NowUs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

// Field `index` (0-based) of a CSV line, after an optional print-sink prefix "<n>> ".
bool ParseField(std::string_view line, int index, int64_t* value) {
  size_t prefix = line.find("> ");
  if (prefix != std::string_view::npos && prefix < 6) line.remove_prefix(prefix + 2);
  for (int i = 0; i < index; ++i) {
    size_t comma = line.find(',');
    if (comma == std::string_view::npos) return false;
    line.remove_prefix(comma + 1);
  }
  size_t end = line.find(',');
  std::string_view text = line.substr(0, end);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// The first ranges [first, last] of sequence numbers below `n` whose count satisfies `pred`, as a
// JSON array of pairs: where the duplicates or the losses of a run are.
template <typename Pred>
std::string SeqRanges(const std::vector<uint8_t>& seen, size_t n, Pred pred) {
  constexpr int kMaxRanges = 8;
  std::string out = "[";
  int ranges = 0;
  for (size_t i = 0; i < n && ranges < kMaxRanges;) {
    if (!pred(seen[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j + 1 < n && pred(seen[j + 1])) ++j;
    out += fmt::format("{}[{}, {}]", ranges++ > 0 ? ", " : "", i, j);
    i = j + 1;
  }
  return out + "]";
}

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using RdKafka = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

RdKafka NewClient(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& kv) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [key, value] : kv) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof(error)) !=
        RD_KAFKA_CONF_OK) {
      std::cerr << "librdkafka property " << key << ": " << error << "\n";
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, error, sizeof(error));
  if (rk == nullptr) {
    std::cerr << "rd_kafka_new: " << error << "\n";
    rd_kafka_conf_destroy(conf);
  }
  return RdKafka(rk);
}

struct KafkaOptions {
  std::string bootstrap, input, output;
  double rate = 1000;
  double duration_s = 30, warmup_s = 5, drain_s = 5;
  int field = 1;
  int padding = 64;
  std::string linger_ms = "1";
};

int RunKafka(const KafkaOptions& o) {
  // Idempotent, so that a retried Produce cannot put a record into the input twice: every
  // duplicate the consumer sees then comes from the job.
  RdKafka producer = NewClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", o.bootstrap},
                                                   {"linger.ms", o.linger_ms},
                                                   {"enable.idempotence", "true"},
                                                   {"socket.nagle.disable", "true"}});
  RdKafka consumer = NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", o.bootstrap},
                                                   {"group.id", "sluice-latency-probe"},
                                                   {"enable.auto.commit", "false"},
                                                   {"socket.nagle.disable", "true"}});
  if (!producer || !consumer) return 1;
  rd_kafka_topic_t* out_topic = rd_kafka_topic_new(consumer.get(), o.output.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(consumer.get(), 0, out_topic, &metadata, 10000) != 0 ||
      metadata->topic_cnt != 1 || metadata->topics[0].partition_cnt == 0) {
    std::cerr << "no metadata for topic " << o.output << "\n";
    return 1;
  }
  int partitions = metadata->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(out_topic);
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(assignment, o.output.c_str(), p)->offset =
        RD_KAFKA_OFFSET_END;
  }
  rd_kafka_assign(consumer.get(), assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  // Let the consumer resolve its end offsets before anything is produced.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
       std::chrono::steady_clock::now() < until;) {
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 100)) {
      rd_kafka_message_destroy(m);
    }
  }

  std::atomic<bool> producing{true};
  std::atomic<int64_t> sent{0};
  int64_t start_us = NowUs();
  // One topic handle: naming the topic per message would take librdkafka's write lock each time.
  rd_kafka_topic_t* in_topic = rd_kafka_topic_new(producer.get(), o.input.c_str(), nullptr);
  std::thread sender([&] {
    std::string padding(static_cast<size_t>(o.padding), 'x');
    auto begin = std::chrono::steady_clock::now();
    auto end = begin + std::chrono::microseconds(static_cast<int64_t>(o.duration_s * 1e6));
    for (int64_t seq = 0;; ++seq) {
      if (o.rate > 0) {
        auto due = begin + std::chrono::nanoseconds(static_cast<int64_t>(seq * 1e9 / o.rate));
        std::this_thread::sleep_until(due);
      }
      if (std::chrono::steady_clock::now() >= end) break;
      std::string payload = fmt::format("{},{},{}", seq, NowUs(), padding);
      std::string key = std::to_string(seq);
      while (rd_kafka_producev(producer.get(), RD_KAFKA_V_RKT(in_topic),
                               RD_KAFKA_V_KEY(key.data(), key.size()),
                               RD_KAFKA_V_VALUE(payload.data(), payload.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer.get(), 1);
      }
      sent.fetch_add(1);
      rd_kafka_poll(producer.get(), 0);
    }
    rd_kafka_flush(producer.get(), 10000);
    producing = false;
  });

  // Reserved up front: growing a vector of millions of samples would stall the reader for
  // tens of ms and show up as latency.
  std::vector<LatencySample> samples;
  samples.reserve(static_cast<size_t>(o.rate * (o.duration_s + 1)));
  // creation -> the output message's timestamp: the moment the job's sink produced it (the
  // sink leaves the timestamp to librdkafka, which takes its clock at produce, in ms). Splits
  // the latency into the part up to the sink and the part after it (linger, broker, consumer).
  std::vector<LatencySample> to_sink;
  to_sink.reserve(samples.capacity());
  // How often each sequence number came back (saturating at 255): duplicates and losses.
  std::vector<uint8_t> seen(samples.capacity(), 0);
  int64_t unparsed = 0;
  auto drain_until = std::chrono::steady_clock::time_point::max();
  while (true) {
    if (!producing && drain_until == std::chrono::steady_clock::time_point::max()) {
      drain_until = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(o.drain_s * 1000));
    }
    if (std::chrono::steady_clock::now() >= drain_until) break;
    if (!producing && static_cast<int64_t>(samples.size()) + unparsed >= sent.load()) break;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 50);
    if (m == nullptr) continue;
    int64_t arrived = NowUs();
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      int64_t created = 0;
      int64_t seq = -1;
      const std::string_view payload(static_cast<const char*>(m->payload), m->len);
      if (ParseField(payload, o.field, &created)) {
        samples.push_back({created, arrived - created});
        if (ParseField(payload, 0, &seq) && seq >= 0 &&
            static_cast<size_t>(seq) < seen.size() && seen[static_cast<size_t>(seq)] < 255) {
          ++seen[static_cast<size_t>(seq)];
        }
        rd_kafka_timestamp_type_t type;
        const int64_t produced_ms = rd_kafka_message_timestamp(m, &type);
        if (type == RD_KAFKA_TIMESTAMP_CREATE_TIME && produced_ms > 0) {
          to_sink.push_back({created, produced_ms * 1000 - created});
        }
      } else {
        ++unparsed;
      }
    }
    rd_kafka_message_destroy(m);
  }
  sender.join();
  rd_kafka_topic_destroy(in_topic);
  rd_kafka_consumer_close(consumer.get());
  double seconds = o.duration_s;
  int64_t distinct = 0, duplicates = 0;
  const size_t sent_seqs = std::min(seen.size(), static_cast<size_t>(sent.load()));
  for (size_t i = 0; i < sent_seqs; ++i) {
    distinct += seen[i] > 0 ? 1 : 0;
    duplicates += seen[i] > 1 ? seen[i] - 1 : 0;
  }
  const LatencySummaryOptions summary{start_us, static_cast<int64_t>(o.warmup_s * 1e6)};
  std::string extra = fmt::format(
      "\"mode\": \"kafka\", \"rate\": {}, \"sent\": {}, \"received\": {}, \"unparsed\": {}, "
      "{}\"sent_per_s\": {:.0f}, \"to_sink\": {}",
      o.rate, sent.load(), samples.size(), unparsed,
      o.rate > 0 ? fmt::format("\"distinct\": {}, \"duplicates\": {}, \"missing\": {}, "
                               "\"duplicated_ranges\": {}, \"missing_ranges\": {}, ",
                               distinct, duplicates, sent.load() - distinct,
                               SeqRanges(seen, sent_seqs, [](uint8_t n) { return n > 1; }),
                               SeqRanges(seen, sent_seqs, [](uint8_t n) { return n == 0; }))
                 : std::string(), static_cast<double>(sent.load()) / seconds,
      SummarizeLatencies(std::move(to_sink), summary, ""));
  std::cout << SummarizeLatencies(std::move(samples), summary, extra)
            << std::endl;
  return 0;
}

// What the file-following modes share: where the stamp is, and for how long to follow.
struct FollowOptions {
  int field = 1;
  std::string unit = "ms";
  double duration_s = 30, warmup_s = 5;
  int64_t expected_samples = 0;  // reserved up front (see RunKafka)
  int64_t scale() const { return unit == "us" ? 1 : 1000; }  // stamp unit -> µs
};

// Appends a sample for every complete line of `text` that carries a stamp, all arrived at
// `arrived_us`; returns the bytes consumed (through the last newline).
size_t AddLineSamples(std::string_view text, const FollowOptions& o, int64_t arrived_us,
                      std::vector<LatencySample>* samples) {
  const int64_t scale = o.scale();
  size_t begin = 0, newline;
  while ((newline = text.find('\n', begin)) != std::string_view::npos) {
    int64_t stamp = 0;
    if (ParseField(text.substr(begin, newline - begin), o.field, &stamp) && stamp > 0) {
      samples->push_back({stamp * scale, arrived_us - stamp * scale});
    }
    begin = newline + 1;
  }
  return begin;
}

struct TailOptions : FollowOptions {
  std::vector<std::string> files;
};

int RunTail(const TailOptions& o) {
  int inotify = inotify_init1(IN_CLOEXEC);
  struct Followed {
    int fd;
    std::string pending;
  };
  std::vector<Followed> files;
  for (const std::string& path : o.files) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || inotify_add_watch(inotify, path.c_str(), IN_MODIFY) < 0) {
      std::cerr << "cannot follow " << path << ": " << std::strerror(errno) << "\n";
      return 1;
    }
    lseek(fd, 0, SEEK_END);
    files.push_back({fd, ""});
  }
  int64_t start_us = NowUs();
  int64_t end_us = start_us + static_cast<int64_t>(o.duration_s * 1e6);
  std::vector<LatencySample> samples;
  samples.reserve(static_cast<size_t>(o.expected_samples));
  char events[4096];
  char buffer[1 << 16];
  while (NowUs() < end_us) {
    for (Followed& f : files) {
      ssize_t got;
      while ((got = read(f.fd, buffer, sizeof(buffer))) > 0) {
        int64_t arrived = NowUs();
        f.pending.append(buffer, static_cast<size_t>(got));
        f.pending.erase(0, AddLineSamples(f.pending, o, arrived, &samples));
      }
    }
    pollfd pfd{inotify, POLLIN, 0};
    if (poll(&pfd, 1, 100) > 0) {
      [[maybe_unused]] ssize_t ignored = read(inotify, events, sizeof(events));
    }
  }
  std::string extra = fmt::format("\"mode\": \"tail\", \"files\": {}", o.files.size());
  std::cout << SummarizeLatencies(std::move(samples),
                                  {start_us, static_cast<int64_t>(o.warmup_s * 1e6)}, extra)
            << std::endl;
  return 0;
}

struct DirOptions : FollowOptions {
  std::string dir;
};

// Appends the samples of every stamped line of `path`, all arrived at `arrived_us`.
void ReadCommittedFile(const std::string& path, const FollowOptions& o, int64_t arrived_us,
                       std::vector<LatencySample>* samples) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string text;
  char buffer[1 << 16];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<size_t>(got));
  close(fd);
  AddLineSamples(text, o, arrived_us, samples);
}

int RunDir(const DirOptions& o) {
  int inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify < 0 || inotify_add_watch(inotify, o.dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    std::cerr << "cannot watch " << o.dir << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  const int64_t start_us = NowUs();
  const int64_t end_us = start_us + static_cast<int64_t>(o.duration_s * 1e6);
  std::vector<LatencySample> samples;
  samples.reserve(static_cast<size_t>(o.expected_samples));
  int64_t files = 0;
  alignas(inotify_event) char events[8192];
  while (NowUs() < end_us) {
    pollfd pfd{inotify, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    const int64_t arrived = NowUs();
    ssize_t got = read(inotify, events, sizeof(events));
    for (ssize_t at = 0; at < got;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(events + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->len == 0 || std::string_view(ev->name).rfind("part-", 0) != 0) continue;
      ++files;
      ReadCommittedFile(o.dir + "/" + ev->name, o, arrived, &samples);
    }
  }
  std::string extra = fmt::format("\"mode\": \"dir\", \"files\": {}", files);
  std::cout << SummarizeLatencies(std::move(samples),
                                  {start_us, static_cast<int64_t>(o.warmup_s * 1e6)}, extra)
            << std::endl;
  return 0;
}

void AddFollowOptions(CLI::App* app, FollowOptions& o) {
  app->add_option("--field", o.field, "0-based CSV field of the stamp")->capture_default_str();
  app->add_option("--unit", o.unit, "unit of the stamp")
      ->check(CLI::IsMember({"ms", "us"}))
      ->capture_default_str();
  app->add_option("--duration", o.duration_s, "seconds")->capture_default_str();
  app->add_option("--warmup", o.warmup_s, "seconds left out")->capture_default_str();
  app->add_option("--expected-samples", o.expected_samples, "samples to reserve room for");
}

int Main(int argc, char** argv) {
  CLI::App app{"The latency benchmark's independent producer and consumer (issue 15)",
               "sluice-latency-probe"};
  app.require_subcommand(1);
  KafkaOptions k;
  CLI::App* kafka = app.add_subcommand("kafka", "stamp records into a topic, time them out of one");
  kafka->add_option("--bootstrap", k.bootstrap, "bootstrap.servers")->required();
  kafka->add_option("--input", k.input, "topic the job reads")->required();
  kafka->add_option("--output", k.output, "topic the job writes")->required();
  kafka->add_option("--rate", k.rate, "records/s; 0 = as fast as possible")->capture_default_str();
  kafka->add_option("--duration", k.duration_s, "seconds of producing")->capture_default_str();
  kafka->add_option("--warmup", k.warmup_s, "seconds left out")->capture_default_str();
  kafka->add_option("--drain", k.drain_s, "seconds to wait for stragglers")->capture_default_str();
  kafka->add_option("--field", k.field, "0-based CSV field of the stamp")->capture_default_str();
  kafka->add_option("--linger-ms", k.linger_ms, "the probe producer's linger.ms")
      ->capture_default_str();
  kafka->add_option("--padding", k.padding, "bytes of padding per record")->capture_default_str();
  TailOptions t;
  CLI::App* tail = app.add_subcommand("tail", "time stamped lines appended to files");
  tail->add_option("--file", t.files, "a file to follow (repeatable)")->required();
  AddFollowOptions(tail, t);
  DirOptions d;
  CLI::App* dir = app.add_subcommand("dir", "time stamped lines of files committed into a directory");
  dir->add_option("--dir", d.dir, "the directory a file sink commits into")->required();
  AddFollowOptions(dir, d);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (kafka->parsed()) return RunKafka(k);
  return tail->parsed() ? RunTail(t) : RunDir(d);
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) { return sluice::bench::Main(argc, argv); }
