// nexmark_handwritten: Nexmark queries q0, q1 and q2 as a plain single-threaded loop over the
// Nexmark generator (runtime/connectors/nexmark), without the engine. It is the baseline for
// the engine's Nexmark runs: what one core does when the only cost is generating the events
// and applying the query, and the reference output for correctness comparisons.
//
//   nexmark_handwritten --query q0|q1|q2 --events N [--seed S] [--base-time-ms T] [--print]
//
// The queries are nexmark-flink's src/main/resources/queries/q0.sql .. q2.sql over the
// generator's whole stream (persons, auctions and bids are all generated):
//   q0 (pass through): SELECT auction, bidder, price, dateTime, extra FROM bid. Besides the
//      bids, every field of every event (persons and auctions too) is folded into a checksum,
//      so that nothing is optimised away; a string counts by its length and first and last
//      bytes.
//   q1 (currency conversion): SELECT auction, bidder, 0.908 * price, dateTime, extra FROM bid.
//      The price is DECIMAL(23, 3) in the reference: computed exactly as price * 908
//      thousandths, printed with three decimals.
//   q2 (selection): SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0.
//
// Output: one line of key=value figures, on stdout (on stderr with --print):
//   query events output_rows checksum cpu_seconds wall_seconds events_per_second
// cpu_seconds is the process's user + system time (getrusage) over the loop only;
// events_per_second = events / cpu_seconds. With --print, the result rows go to stdout as CSV
// without a header, the columns of the query's SELECT in order, dateTime as
// "YYYY-MM-DD HH:MM:SS.mmm" in UTC (Flink's TIMESTAMP(3) text). Events are numbered from 0 as in
// generator_config.h; their times start at --base-time-ms (default 0) at 10'000 events/s.
//
// Single-threaded. Exit status: 0; non-zero (CLI11's code) for bad arguments.

#include <sys/resource.h>

#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "runtime/connectors/nexmark/generator.h"

namespace sluice::connectors::nexmark {
namespace {

enum class Query { kQ0, kQ1, kQ2 };

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Result rows as CSV into a buffer written out in large chunks, and a checksum of every value
// the query outputs (or, for q0, reads).
class Sink {
 public:
  explicit Sink(bool print) : print_(print) {
    if (print_) buffer_.reserve(kFlushBytes + 4096);
  }
  ~Sink() { Flush(); }

  // Rotate-and-add: order-sensitive and one short dependency chain (a multiply per value
  // would cost more than some of the queries).
  void Number(int64_t v) { checksum_ = std::rotl(checksum_, 5) + static_cast<uint64_t>(v); }
  void String(std::string_view s) {
    Number(static_cast<int64_t>(s.size()));
    if (!s.empty()) Number((s.front() << 8) | s.back());
  }

  bool print() const { return print_; }
  // CSV fields of one row; EndRow() after the last.
  void PrintNumber(int64_t v) {
    Separate();
    buffer_ += std::to_string(v);
  }
  // Exact decimal with three fractional digits of thousandths (q1's DECIMAL(23, 3)).
  void PrintThousandths(int64_t thousandths) {
    Separate();
    char text[32];
    std::snprintf(text, sizeof(text), "%lld.%03lld", static_cast<long long>(thousandths / 1000),
                  static_cast<long long>(thousandths % 1000));
    buffer_ += text;
  }
  void PrintTimestamp(int64_t epoch_ms) {
    Separate();
    const int64_t second = epoch_ms / 1000;  // times are >= 0
    if (second != cached_second_) {          // formatting is slow; rows come in time order
      cached_second_ = second;
      cached_text_ =
          absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    }
    char millis[8];
    std::snprintf(millis, sizeof(millis), ".%03d", static_cast<int>(epoch_ms % 1000));
    buffer_ += cached_text_;
    buffer_ += millis;
  }
  void PrintString(std::string_view s) {  // generated strings hold no comma, quote or newline
    Separate();
    buffer_ += s;
  }
  void EndRow() {
    buffer_ += '\n';
    first_field_ = true;
    if (buffer_.size() >= kFlushBytes) Flush();
  }

  uint64_t checksum() const { return checksum_; }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;

  void Separate() {
    if (!first_field_) buffer_ += ',';
    first_field_ = false;
  }
  void Flush() {
    std::fwrite(buffer_.data(), 1, buffer_.size(), stdout);
    buffer_.clear();
  }

  bool print_;
  bool first_field_ = true;
  uint64_t checksum_ = 0;
  std::string buffer_;
  int64_t cached_second_ = -1;
  std::string cached_text_;
};

// q0 reads every field of persons and auctions; the bids are its output rows.
void TouchPerson(const Person& p, Sink& sink) {
  sink.Number(p.id);
  sink.String(p.name);
  sink.String(p.email_address);
  sink.String(p.credit_card);
  sink.String(p.city);
  sink.String(p.state);
  sink.Number(p.date_time_ms);
  sink.String(p.extra);
}

void TouchAuction(const Auction& a, Sink& sink) {
  sink.Number(a.id);
  sink.String(a.item_name);
  sink.String(a.description);
  sink.Number(a.initial_bid);
  sink.Number(a.reserve);
  sink.Number(a.date_time_ms);
  sink.Number(a.expires_ms);
  sink.Number(a.seller);
  sink.Number(a.category);
  sink.String(a.extra);
}

// Applies `query` to every event; returns the number of output rows.
template <Query query>
int64_t Run(NexmarkGenerator& generator, Sink& sink) {
  int64_t rows = 0;
  while (generator.HasNext()) {
    const Event& e = generator.Next();
    if constexpr (query == Query::kQ0) {
      if (e.kind == EventKind::kPerson) TouchPerson(e.person, sink);
      if (e.kind == EventKind::kAuction) TouchAuction(e.auction, sink);
    }
    if (e.kind != EventKind::kBid) continue;
    const Bid& b = e.bid;
    if constexpr (query == Query::kQ0) {
      // q0 reads the bid's channel and url too (they are part of the event), outputs the rest.
      sink.String(b.channel);
      sink.String(b.url);
      sink.Number(b.auction);
      sink.Number(b.bidder);
      sink.Number(b.price);
      sink.Number(b.date_time_ms);
      sink.String(b.extra);
      ++rows;
      if (sink.print()) {
        sink.PrintNumber(b.auction);
        sink.PrintNumber(b.bidder);
        sink.PrintNumber(b.price);
        sink.PrintTimestamp(b.date_time_ms);
        sink.PrintString(b.extra);
        sink.EndRow();
      }
    } else if constexpr (query == Query::kQ1) {
      const int64_t price_euro_thousandths = b.price * 908;  // 0.908 * price, exact
      sink.Number(b.auction);
      sink.Number(b.bidder);
      sink.Number(price_euro_thousandths);
      sink.Number(b.date_time_ms);
      sink.String(b.extra);
      ++rows;
      if (sink.print()) {
        sink.PrintNumber(b.auction);
        sink.PrintNumber(b.bidder);
        sink.PrintThousandths(price_euro_thousandths);
        sink.PrintTimestamp(b.date_time_ms);
        sink.PrintString(b.extra);
        sink.EndRow();
      }
    } else {
      if (b.auction % 123 != 0) continue;
      sink.Number(b.auction);
      sink.Number(b.price);
      ++rows;
      if (sink.print()) {
        sink.PrintNumber(b.auction);
        sink.PrintNumber(b.price);
        sink.EndRow();
      }
    }
  }
  return rows;
}

int Main(int argc, char** argv) {
  CLI::App app{"Nexmark q0/q1/q2 as a hand-written single-threaded loop over the generator"};
  std::string query_name;
  int64_t events = 0;
  uint64_t seed = 0;
  int64_t base_time_ms = 0;
  bool print = false;
  app.add_option("--query", query_name, "q0 (pass through), q1 (euros) or q2 (selection)")
      ->required()
      ->check(CLI::IsMember({"q0", "q1", "q2"}));
  app.add_option("--events", events, "number of events to generate (all kinds)")
      ->required()
      ->check(CLI::Range(int64_t{1}, kMaxEvents));
  app.add_option("--seed", seed, "generator seed")->capture_default_str();
  app.add_option("--base-time-ms", base_time_ms, "event time of event 0, epoch ms")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, kMaxBaseTimeMs));
  app.add_flag("--print", print, "write the result rows to stdout as CSV");
  CLI11_PARSE(app, argc, argv);

  NexmarkConfig config;
  config.max_events = events;
  config.seed = seed;
  config.base_time_ms = base_time_ms;
  absl::StatusOr<NexmarkGenerator> generator = NexmarkGenerator::Create(config);
  if (!generator.ok()) {
    std::fprintf(stderr, "nexmark_handwritten: %s\n", generator.status().ToString().c_str());
    return 1;
  }

  Sink sink(print);
  const Query query = query_name == "q0"   ? Query::kQ0
                      : query_name == "q1" ? Query::kQ1
                                           : Query::kQ2;
  const double cpu_start = CpuSeconds();
  const auto wall_start = std::chrono::steady_clock::now();
  int64_t rows = 0;
  switch (query) {
    case Query::kQ0:
      rows = Run<Query::kQ0>(*generator, sink);
      break;
    case Query::kQ1:
      rows = Run<Query::kQ1>(*generator, sink);
      break;
    case Query::kQ2:
      rows = Run<Query::kQ2>(*generator, sink);
      break;
  }
  const double cpu_seconds = CpuSeconds() - cpu_start;
  const double wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  std::fprintf(print ? stderr : stdout,
               "query=%s events=%lld output_rows=%lld checksum=%016llx cpu_seconds=%.3f "
               "wall_seconds=%.3f events_per_second=%.0f\n",
               query_name.c_str(), static_cast<long long>(events), static_cast<long long>(rows),
               static_cast<unsigned long long>(sink.checksum()), cpu_seconds, wall_seconds,
               cpu_seconds > 0 ? static_cast<double>(events) / cpu_seconds : 0.0);
  return 0;
}

}  // namespace
}  // namespace sluice::connectors::nexmark

int main(int argc, char** argv) { return sluice::connectors::nexmark::Main(argc, argv); }
