#pragma once
// Nexmark source: the events of the Nexmark benchmark (persons, auctions, bids) from
// NexmarkGenerator (generator.h), as Flink's Nexmark `datagen` table (nexmark/nexmark,
// nexmark-flink NexmarkTableSourceFactory) and its `person`, `auction` and `bid` views.
//
// Tables (NexmarkTable), Flink Nexmark's field names; times are timestamps (epoch ms):
//   bid      auction, bidder, price (int64), channel, url (string), dateTime, extra
//   auction  id, itemName, description, initialBid, reserve, dateTime, expires, seller,
//            category, extra
//   person   id, name, emailAddress, creditCard, city, state, dateTime, extra
//   events   every event as one row: event_type (int32: 0 person, 1 auction, 2 bid, as
//            Flink's), dateTime, then the person fields as person_<name>, the auction fields as
//            auction_<name> and the bid fields as bid_<name>; the fields of the other two kinds
//            are null (Flink's table has three nullable ROW columns; Sluice has no nested types).
// A single-kind table still runs the whole generator, so ids, timestamps and values are those
// of the full stream, and `max_events` counts events of every kind (q0's 50 M events are
// 46 M bids).
//
// Each row's event timestamp is its dateTime; after each batch a watermark
// dateTime max - max_out_of_orderness_ms - 1 is emitted when it advanced (a split's times never
// decrease, so 0 is exact), and kMaxWatermark after the last event of a bounded source.
//
// Splits: subtask i of p generates split i of p (generator.h: blocks of 50 events dealt in
// turn), so the union over subtasks is exactly the unsplit stream at any parallelism.
// Rate: events_per_second is the total over subtasks (0 = unlimited), each subtask limited to
// its share by a token bucket (operators/rate_limiter.h), counted in events, not rows.
//
// Checkpointing: SnapshotState is magic "NXMK", version 1, u32 subtask, u32 parallelism,
// i64 events generated, i64 max event time (little-endian). Open with ctx.restored_state
// continues after the last event emitted before the snapshot. Rescaling (a restore at another
// parallelism) is refused with FailedPrecondition "nexmark source: ... taken at parallelism p";
// the interleaved splits of different parallelisms do not map onto each other.
//
// Errors from Open: InvalidArgument for a bad config (NexmarkConfig::Validate) or batch size;
// DataLoss for a malformed state; FailedPrecondition for a state of another subtask or
// parallelism.
//
// Performance: rows are appended column by column into one reused batch (Column::Append):
// no per-event heap allocation. Metrics (if ctx.metrics is set): records_out.
// Threading: like every Source, used by one Task thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/connectors/nexmark/generator_config.h"
#include "runtime/core/types.h"

namespace sluice::connectors::nexmark {

enum class NexmarkTable : uint8_t { kEvents, kPerson, kAuction, kBid };

// "events", "person", "auction", "bid".
std::string_view NexmarkTableName(NexmarkTable table);
std::optional<NexmarkTable> ParseNexmarkTable(std::string_view name);
// The schema of `table` (see the file comment).
core::SchemaPtr NexmarkSchema(NexmarkTable table);

struct NexmarkSourceOptions {
  NexmarkConfig config;
  NexmarkTable table = NexmarkTable::kEvents;
  // Rows per emitted batch (>= 1).
  size_t batch_size = 1024;
  // Events per second over all subtasks; 0 = unlimited. Must be >= 0.
  double events_per_second = 0;
  // Flink's forBoundedOutOfOrderness, in ms (>= 0).
  int64_t max_out_of_orderness_ms = 0;
  // Clock of the rate limit, for tests (null: the real clock; see RateLimiter).
  std::function<int64_t()> now_ms;
  std::function<void(int64_t)> sleep_ms;
};

// InvalidArgument naming the bad option.
absl::Status ValidateNexmarkSourceOptions(const NexmarkSourceOptions& opts);

std::unique_ptr<api::Source> MakeNexmarkSource(NexmarkSourceOptions opts);

}  // namespace sluice::connectors::nexmark
