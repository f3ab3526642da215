#include "runtime/connectors/nexmark/nexmark_source.h"

#include <string>
#include <vector>

#include "runtime/base/status.h"
#include "runtime/connectors/nexmark/generator.h"
#include "runtime/core/record_batch.h"
#include "runtime/formats/state_codec.h"
#include "runtime/operators/rate_limiter.h"
#include "runtime/operators/watermarks.h"
#include "runtime/operators/source_output.h"

namespace sluice::connectors::nexmark {
namespace {

using core::Field;
using core::Type;

constexpr std::string_view kStateMagic = "NXMK";
constexpr uint32_t kStateVersion = 1;
constexpr const char* kWhat = "nexmark source";

// absl::Status::message() is Debian's absl::string_view, which fmt cannot format.
std::string_view Message(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

std::vector<Field> PersonFields(std::string_view prefix) {
  std::string p(prefix);
  return {{p + "id", Type::kInt64},         {p + "name", Type::kString},
          {p + "emailAddress", Type::kString}, {p + "creditCard", Type::kString},
          {p + "city", Type::kString},       {p + "state", Type::kString},
          {p + "dateTime", Type::kTimestamp}, {p + "extra", Type::kString}};
}
std::vector<Field> AuctionFields(std::string_view prefix) {
  std::string p(prefix);
  return {{p + "id", Type::kInt64},           {p + "itemName", Type::kString},
          {p + "description", Type::kString}, {p + "initialBid", Type::kInt64},
          {p + "reserve", Type::kInt64},      {p + "dateTime", Type::kTimestamp},
          {p + "expires", Type::kTimestamp},  {p + "seller", Type::kInt64},
          {p + "category", Type::kInt64},     {p + "extra", Type::kString}};
}
std::vector<Field> BidFields(std::string_view prefix) {
  std::string p(prefix);
  return {{p + "auction", Type::kInt64},     {p + "bidder", Type::kInt64},
          {p + "price", Type::kInt64},       {p + "channel", Type::kString},
          {p + "url", Type::kString},        {p + "dateTime", Type::kTimestamp},
          {p + "extra", Type::kString}};
}

// Column offsets of the three kinds in the `events` table.
constexpr size_t kEventsPersonAt = 2;
constexpr size_t kEventsAuctionAt = kEventsPersonAt + 8;
constexpr size_t kEventsBidAt = kEventsAuctionAt + 10;
constexpr size_t kEventsColumns = kEventsBidAt + 7;

void AppendPerson(core::RecordBatch& b, size_t at, const Person& p) {
  b.mutable_column(at).Append<int64_t>(p.id);
  b.mutable_column(at + 1).AppendString(p.name);
  b.mutable_column(at + 2).AppendString(p.email_address);
  b.mutable_column(at + 3).AppendString(p.credit_card);
  b.mutable_column(at + 4).AppendString(p.city);
  b.mutable_column(at + 5).AppendString(p.state);
  b.mutable_column(at + 6).Append<int64_t>(p.date_time_ms);
  b.mutable_column(at + 7).AppendString(p.extra);
}

void AppendAuction(core::RecordBatch& b, size_t at, const Auction& a) {
  b.mutable_column(at).Append<int64_t>(a.id);
  b.mutable_column(at + 1).AppendString(a.item_name);
  b.mutable_column(at + 2).AppendString(a.description);
  b.mutable_column(at + 3).Append<int64_t>(a.initial_bid);
  b.mutable_column(at + 4).Append<int64_t>(a.reserve);
  b.mutable_column(at + 5).Append<int64_t>(a.date_time_ms);
  b.mutable_column(at + 6).Append<int64_t>(a.expires_ms);
  b.mutable_column(at + 7).Append<int64_t>(a.seller);
  b.mutable_column(at + 8).Append<int64_t>(a.category);
  b.mutable_column(at + 9).AppendString(a.extra);
}

void AppendBid(core::RecordBatch& b, size_t at, const Bid& bid) {
  b.mutable_column(at).Append<int64_t>(bid.auction);
  b.mutable_column(at + 1).Append<int64_t>(bid.bidder);
  b.mutable_column(at + 2).Append<int64_t>(bid.price);
  b.mutable_column(at + 3).AppendString(bid.channel);
  b.mutable_column(at + 4).AppendString(bid.url);
  b.mutable_column(at + 5).Append<int64_t>(bid.date_time_ms);
  b.mutable_column(at + 6).AppendString(bid.extra);
}

void AppendNulls(core::RecordBatch& b, size_t from, size_t to) {
  for (size_t c = from; c < to; ++c) b.mutable_column(c).AppendNull();
}

class NexmarkSource final : public api::Source {
 public:
  explicit NexmarkSource(NexmarkSourceOptions opts)
      : opts_(std::move(opts)),
        schema_(NexmarkSchema(opts_.table)),
        watermarks_(opts_.max_out_of_orderness_ms) {}

  core::SchemaPtr output_schema() const override { return schema_; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    ctx_ = ctx;
    RETURN_IF_ERROR(ValidateNexmarkSourceOptions(opts_));
    auto gen = NexmarkGenerator::Create(opts_.config, NexmarkSplit{ctx.subtask_index, ctx.parallelism});
    if (!gen.ok()) return InvalidArgumentF("{}: {}", kWhat, Message(gen.status()));
    gen_.emplace(*std::move(gen));
    if (opts_.events_per_second > 0) {
      limiter_.emplace(opts_.events_per_second / ctx.parallelism, opts_.batch_size, opts_.now_ms,
                       opts_.sleep_ms);
    }
    batch_.set_schema(schema_);
    if (!ctx.restored_union_states.empty()) {
      return FailedPreconditionF(
          "{}: the restored state was taken at parallelism {}, the source now runs at {}; the "
          "nexmark source restores only at the parallelism it was checkpointed with",
          kWhat, ctx.restored_parallelism, ctx.parallelism);
    }
    if (ctx.restored_state.has_value() && !ctx.restored_state->empty()) {
      return Restore(*ctx.restored_state);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> SnapshotState(int64_t /*checkpoint_id*/) override {
    formats::StateWriter w(kStateMagic, kStateVersion);
    w.U32(static_cast<uint32_t>(ctx_.subtask_index));
    w.U32(static_cast<uint32_t>(ctx_.parallelism));
    w.I64(gen_->events_generated());
    w.I64(max_event_time_);
    return std::move(w).Finish();
  }

  // Without a rate limit the generator always has the next batch ready.
  bool MoreAvailable() const override { return !limiter_ && !done_; }

  absl::StatusOr<bool> PollNext(api::Output& out) override {
    if (done_) return false;
    size_t events = opts_.batch_size;
    if (limiter_ && gen_->HasNext()) {
      events = limiter_->Acquire();
      if (events == 0) return true;  // out of tokens for now: poll again
    }
    size_t generated = 0;
    while (batch_.num_rows() < opts_.batch_size && generated < events && gen_->HasNext()) {
      const Event& e = gen_->Next();
      ++generated;
      if (AppendEvent(e)) max_event_time_ = std::max(max_event_time_, e.timestamp_ms);
    }
    if (limiter_) limiter_->Consume(generated);
    RETURN_IF_ERROR(operators::EmitSourceBatch(&batch_, out, ctx_.metrics));
    if (max_event_time_ != api::kMinWatermark) watermarks_.OnEvent(max_event_time_);
    const int64_t wm = watermarks_.CurrentWatermark();
    if (wm > last_watermark_) {
      last_watermark_ = wm;
      RETURN_IF_ERROR(out.EmitWatermark(wm));
    }
    if (gen_->HasNext()) return true;
    done_ = true;
    RETURN_IF_ERROR(out.EmitWatermark(api::kMaxWatermark));
    return false;
  }

 private:
  // Appends `e` if the table has a row for it; returns whether it did.
  bool AppendEvent(const Event& e) {
    core::RecordBatch& b = batch_;
    switch (opts_.table) {
      case NexmarkTable::kBid:
        if (e.kind != EventKind::kBid) return false;
        AppendBid(b, 0, e.bid);
        break;
      case NexmarkTable::kAuction:
        if (e.kind != EventKind::kAuction) return false;
        AppendAuction(b, 0, e.auction);
        break;
      case NexmarkTable::kPerson:
        if (e.kind != EventKind::kPerson) return false;
        AppendPerson(b, 0, e.person);
        break;
      case NexmarkTable::kEvents:
        b.mutable_column(0).Append<int32_t>(static_cast<int32_t>(e.kind));
        b.mutable_column(1).Append<int64_t>(e.timestamp_ms);
        if (e.kind == EventKind::kPerson) {
          AppendPerson(b, kEventsPersonAt, e.person);
        } else {
          AppendNulls(b, kEventsPersonAt, kEventsAuctionAt);
        }
        if (e.kind == EventKind::kAuction) {
          AppendAuction(b, kEventsAuctionAt, e.auction);
        } else {
          AppendNulls(b, kEventsAuctionAt, kEventsBidAt);
        }
        if (e.kind == EventKind::kBid) {
          AppendBid(b, kEventsBidAt, e.bid);
        } else {
          AppendNulls(b, kEventsBidAt, kEventsColumns);
        }
        break;
    }
    b.AppendTimestamp(e.timestamp_ms);
    return true;
  }

  absl::Status Restore(std::string_view blob) {
    formats::StateReader r(blob, kWhat);
    RETURN_IF_ERROR(r.Header(kStateMagic, kStateVersion));
    ASSIGN_OR_RETURN(uint32_t subtask, r.U32());
    ASSIGN_OR_RETURN(uint32_t parallelism, r.U32());
    ASSIGN_OR_RETURN(int64_t generated, r.I64());
    ASSIGN_OR_RETURN(int64_t max_event_time, r.I64());
    RETURN_IF_ERROR(r.End());
    if (static_cast<int32_t>(subtask) != ctx_.subtask_index ||
        static_cast<int32_t>(parallelism) != ctx_.parallelism) {
      return FailedPreconditionF(
          "{}: the restored state belongs to subtask {} of parallelism {}, not subtask {} of {}",
          kWhat, subtask, parallelism, ctx_.subtask_index, ctx_.parallelism);
    }
    const int64_t total = NexmarkGenerator::EventsInSplit(gen_->config(), gen_->split());
    if (generated < 0 || generated > total) {
      return DataLossF("{}: the restored state has generated {} events of a split of {}", kWhat,
                       generated, total);
    }
    gen_->SeekTo(generated);
    max_event_time_ = max_event_time;
    return absl::OkStatus();
  }

  NexmarkSourceOptions opts_;
  core::SchemaPtr schema_;
  api::OperatorContext ctx_;
  std::optional<NexmarkGenerator> gen_;
  std::optional<operators::RateLimiter> limiter_;
  operators::BoundedOutOfOrdernessWatermarks watermarks_;
  core::RecordBatch batch_;
  int64_t max_event_time_ = api::kMinWatermark;
  int64_t last_watermark_ = api::kMinWatermark;
  bool done_ = false;
};

}  // namespace

std::string_view NexmarkTableName(NexmarkTable table) {
  switch (table) {
    case NexmarkTable::kEvents: return "events";
    case NexmarkTable::kPerson: return "person";
    case NexmarkTable::kAuction: return "auction";
    case NexmarkTable::kBid: return "bid";
  }
  return "?";
}

std::optional<NexmarkTable> ParseNexmarkTable(std::string_view name) {
  for (NexmarkTable t : {NexmarkTable::kEvents, NexmarkTable::kPerson, NexmarkTable::kAuction,
                         NexmarkTable::kBid}) {
    if (NexmarkTableName(t) == name) return t;
  }
  return std::nullopt;
}

core::SchemaPtr NexmarkSchema(NexmarkTable table) {
  std::vector<Field> fields;
  switch (table) {
    case NexmarkTable::kPerson: fields = PersonFields(""); break;
    case NexmarkTable::kAuction: fields = AuctionFields(""); break;
    case NexmarkTable::kBid: fields = BidFields(""); break;
    case NexmarkTable::kEvents: {
      fields = {{"event_type", Type::kInt32}, {"dateTime", Type::kTimestamp}};
      for (auto part : {PersonFields("person_"), AuctionFields("auction_"), BidFields("bid_")}) {
        fields.insert(fields.end(), part.begin(), part.end());
      }
      break;
    }
  }
  return std::make_shared<core::Schema>(std::move(fields));
}

absl::Status ValidateNexmarkSourceOptions(const NexmarkSourceOptions& opts) {
  if (absl::Status s = opts.config.Validate(); !s.ok()) {
    return InvalidArgumentF("{}: {}", kWhat, Message(s));
  }
  if (opts.batch_size < 1) return InvalidArgumentF("{}: batch-size must be at least 1", kWhat);
  if (!(opts.events_per_second >= 0)) {
    return InvalidArgumentF("{}: rate must be >= 0 events per second, found {}", kWhat,
                            opts.events_per_second);
  }
  if (opts.max_out_of_orderness_ms < 0) {
    return InvalidArgumentF("{}: max-out-of-orderness must be >= 0, found {} ms", kWhat,
                            opts.max_out_of_orderness_ms);
  }
  return absl::OkStatus();
}

std::unique_ptr<api::Source> MakeNexmarkSource(NexmarkSourceOptions opts) {
  return std::make_unique<NexmarkSource>(std::move(opts));
}

}  // namespace sluice::connectors::nexmark
