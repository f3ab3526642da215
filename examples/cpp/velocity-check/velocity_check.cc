// Fraud velocity check, a Sluice job plugin (C++ DataStream API).
//
// Payment attempts are counted per card in 10-second windows sliding every 2 seconds. A rules
// stream, broadcast to every subtask, sets the threshold from a point in event time on; a card
// with more attempts in a window than the threshold in force at the window's end raises an
// alert. Windows exactly at the threshold go to a side output ("near misses").
//
// Arguments: <payments.csv> <rules.csv> <output dir> [initial threshold, default 5]
//            [payments per second, default 0 = as fast as possible: to watch it run]
//   payments.csv: ts (ISO-8601), card (string), amount (int64, cents)
//   rules.csv:    ts (ISO-8601), threshold (int64): in force for windows ending after ts
// Output: <output dir>/alerts and <output dir>/near-misses (CSV, exactly-once file sinks):
//   card, window_start, window_end, attempts, threshold
// Checkpoints (every 2 s) go to <output dir>/checkpoints.
//
// Event-time semantics make the result deterministic: a window's verdict waits (an event-time
// timer at its end) until the watermark of both inputs has passed it, so every rule that applies
// has arrived, however the two streams interleave.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/datastream.h"

namespace {

// Window rows: card, window_start, window_end, attempts (fields 0..3).
constexpr size_t kCard = 0, kStart = 1, kEnd = 2, kAttempts = 3;

sluice::Schema Alerts() {
  return sluice::Schema{{"card", sluice::Type::kString},
                        {"window_start", sluice::Type::kTimestamp},
                        {"window_end", sluice::Type::kTimestamp},
                        {"attempts", sluice::Type::kInt64},
                        {"threshold", sluice::Type::kInt64}};
}

class VelocityRule : public sluice::KeyedBroadcastProcessFunction {
 public:
  explicit VelocityRule(int64_t initial_threshold) : initial_(initial_threshold) {}

  void Open(sluice::RuntimeContext& ctx) override {
    // Threshold by the event time it takes effect at; the same on every subtask.
    rules_ = ctx.GetBroadcastState<int64_t, int64_t>("thresholds");
    // This card's windows waiting for their verdict: window start -> attempts.
    pending_ = ctx.GetMapState<int64_t, int64_t>("pending-windows");
  }

  void ProcessBroadcastElement(const sluice::Row& rule, sluice::Context&,
                               sluice::Collector&) override {
    rules_.Put(rule.GetInt64(0), rule.GetInt64(1));
  }

  void ProcessElement(const sluice::Row& window, sluice::Context& ctx,
                      sluice::Collector&) override {
    pending_.Put(window.GetInt64(kStart), window.GetInt64(kAttempts));
    // The window row's timestamp is window_end - 1: decide once event time has passed it.
    ctx.Timers().RegisterEventTimeTimer(window.timestamp());
  }

  void OnTimer(int64_t time, sluice::Context& ctx, sluice::Collector& out) override {
    const int64_t end = time + 1;
    const int64_t start = end - kWindowMs;
    const std::optional<int64_t> attempts = pending_.Get(start);
    if (!attempts) return;
    pending_.Remove(start);
    const int64_t threshold = ThresholdAt(time);
    if (*attempts < threshold) return;
    sluice::RowWriter& w = *attempts > threshold ? out.Emit() : out.EmitTo(0);
    w.SetString(0, ctx.CurrentKey().GetString(0));
    w.SetInt64(1, start);
    w.SetInt64(2, end);
    w.SetInt64(3, *attempts);
    w.SetInt64(4, threshold);
  }

  static constexpr int64_t kWindowMs = 10'000;

 private:
  // The threshold of the latest rule at or before `time`.
  int64_t ThresholdAt(int64_t time) {
    int64_t best_ts = INT64_MIN, threshold = initial_;
    rules_.ForEach([&](int64_t ts, int64_t t) {
      if (ts <= time && ts >= best_ts) {
        best_ts = ts;
        threshold = t;
      }
    });
    return threshold;
  }

  int64_t initial_;
  sluice::MapState<int64_t, int64_t> rules_;
  sluice::MapState<int64_t, int64_t> pending_;
};

void BuildVelocityCheck(sluice::StreamExecutionEnvironment& env,
                        const std::vector<std::string>& args) {
  if (args.size() < 3 || args.size() > 5) {
    throw std::invalid_argument(
        "usage: velocity-check <payments.csv> <rules.csv> <output dir> [initial threshold] "
        "[payments per second]");
  }
  const int64_t initial = args.size() >= 4 ? std::stoll(args[3]) : 5;
  const std::string rate = args.size() >= 5 ? args[4] : "0";
  env.SetName("velocity-check");
  env.Configure("checkpointing: {interval: 2 s, dir: " + args[2] + "/checkpoints}");

  auto payments = env.FromSource("payments", R"(
    type: file
    path: )" + args[0] + R"(
    rate: )" + rate + R"(
    schema: {ts: timestamp, card: string, amount: int64}
    event-time: {field: ts, max-out-of-orderness: 5 s}
  )");
  auto rules = env.FromSource("rules", R"(
    type: file
    path: )" + args[1] + R"(
    parallelism: 1
    schema: {ts: timestamp, threshold: int64}
    event-time: {field: ts, max-out-of-orderness: 0 s}
  )");

  auto attempts = payments.KeyBy({"card"})
                      .Window(sluice::Window::Sliding(VelocityRule::kWindowMs, 2'000))
                      .Aggregate({sluice::Count("attempts"), sluice::Sum("amount", "total")})
                      .Name("attempts-per-card")
                      .Uid("attempts-per-card");

  const sluice::OutputTag near_misses{"near-misses", Alerts()};
  auto alerts = attempts.KeyBy({"card"})
                    .Connect(rules.Broadcast())
                    .Process(VelocityRule(initial), Alerts(), {near_misses})
                    .Name("velocity-rule")
                    .Uid("velocity-rule");

  alerts.SinkTo("alerts", "type: file\npath: " + args[2] + "/alerts\n");
  alerts.SideOutput(near_misses.name).SinkTo("near-misses",
                                             "type: file\npath: " + args[2] + "/near-misses\n");
}

}  // namespace

SLUICE_JOB(BuildVelocityCheck)
