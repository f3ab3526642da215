#pragma once
// State time-to-live: Flink's StateTtlConfig for keyed state, processing time only.
//
// A state obtained with a StateTtlConfig (KeyedStateBackend::Get*State(name, ..., ttl)) stores
// with each entry the processing time (epoch ms, from the backend's Clock) of its last write,
// or of its last read or write with kOnReadAndWrite. An entry whose timestamp + ttl_ms <= now
// (Flink's TtlUtils.expired, overflow-safe) is expired: with kNeverReturnExpired it behaves as
// absent for every accessor and for iteration; with kReturnExpiredIfNotCleanedUp an accessor
// returns it once (a copy, valid until the state next returns an expired entry) and cleans it
// up. As in Flink, ListState has a timestamp per element and
// MapState per user key; value, reducing and aggregating states one per (key, namespace).
//
// Cleanup (Flink's defaults): expired entries/elements are removed when accessed; on the heap
// also incrementally on writes (Flink's cleanupIncrementally: about 5 stored entries checked per
// write, one key group at a time); full snapshots never contain them (cleanupFullSnapshot); on
// RocksDB a compaction filter drops them (cleanupInRocksdbCompactFilter, rocksdb_store.h).
//
// Stored layout of an entry of a state with TTL (the canonical snapshot entry bytes and the
// RocksDB value; states without TTL keep Serializer<Entry> bytes):
//   i64 oldest timestamp (the 8-byte prefix a compaction filter decides on without parsing),
//   then value/reducing/aggregating: Serializer<Entry> bytes;
//        list: varint n, n x (i64 timestamp, Serializer<V>);
//        map:  varint n, n x (Serializer<UK>, i64 timestamp, Serializer<UV>).
// Snapshots record per state whether it has TTL; restoring TTL state into a state without TTL,
// or the reverse, is refused (InvalidArgument naming the state), as Flink refuses it. Changing
// ttl_ms or the update type between runs is fine: the stored last-access times are kept and the
// new ttl_ms applies to them.
//
// Thread: like the states (the task thread); the layout functions below are pure and also run
// on RocksDB compaction threads.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "runtime/base/status.h"
#include "runtime/state/rocksdb_store.h"
#include "runtime/state/serialization.h"

namespace sluice::state {

// Flink's StateTtlConfig (time characteristic: processing time; cleanup strategies: the
// defaults described in the file comment).
struct StateTtlConfig {
  enum UpdateType : uint8_t {
    kOnCreateAndWrite = 0,  // the timestamp is set when an entry is created or written
    kOnReadAndWrite = 1,    // ... and also when it is read
  };
  enum StateVisibility : uint8_t {
    kNeverReturnExpired = 0,           // an expired entry is never returned
    kReturnExpiredIfNotCleanedUp = 1,  // returned (once) while not cleaned up yet
  };
  int64_t ttl_ms = 0;  // > 0
  UpdateType update_type = kOnCreateAndWrite;
  StateVisibility visibility = kNeverReturnExpired;

  friend bool operator==(const StateTtlConfig&, const StateTtlConfig&) = default;
};

// "ttl 3600000 ms, OnCreateAndWrite, NeverReturnExpired" (for error messages).
inline std::string DescribeTtl(const StateTtlConfig& c) {
  return "ttl " + std::to_string(c.ttl_ms) + " ms, " +
         (c.update_type == StateTtlConfig::kOnReadAndWrite ? "OnReadAndWrite"
                                                           : "OnCreateAndWrite") +
         ", " +
         (c.visibility == StateTtlConfig::kReturnExpiredIfNotCleanedUp
              ? "ReturnExpiredIfNotCleanedUp"
              : "NeverReturnExpired");
}

// Flink's TtlUtils.expired: last_access + ttl <= now, without overflow.
inline bool TtlExpired(int64_t last_access_ms, int64_t ttl_ms, int64_t now_ms) {
  const int64_t ttl_without_overflow =
      last_access_ms > 0 ? std::min(std::numeric_limits<int64_t>::max() - last_access_ms, ttl_ms)
                         : ttl_ms;
  return last_access_ms + ttl_without_overflow <= now_ms;
}

namespace internal {

// TTL layouts: what a state with TTL keeps beside its entry (`Meta`) and how both are stored.
// Each provides Entry, Meta, kPerElement, Oldest, Touch (all timestamps = now), RemoveExpired
// (drops expired elements in place; false when nothing is left), Write and Read (the stored
// layout of the file comment; Read overwrites).

// One timestamp per entry: value, reducing and aggregating states.
template <typename E>
struct ScalarTtl {
  using Entry = E;
  using Meta = int64_t;
  static constexpr bool kPerElement = false;
  static int64_t Oldest(const Entry&, const Meta& m) { return m; }
  static void Touch(Entry&, Meta& m, int64_t now) { m = now; }
  static bool RemoveExpired(Entry&, Meta& m, int64_t ttl, int64_t now) {
    return !TtlExpired(m, ttl, now);
  }
  static void Write(const Entry& e, const Meta& m, ByteWriter& w) {
    w.WriteI64(m);
    Serializer<Entry>::Write(e, w);
  }
  static absl::Status Read(ByteReader& r, Entry* e, Meta* m) {
    RETURN_IF_ERROR(r.ReadI64(m));
    return Serializer<Entry>::Read(r, e);
  }
};

// A timestamp per list element (Flink's TtlListState), in a vector parallel to the list.
template <typename V>
struct ListTtl {
  using Entry = std::vector<V>;
  using Meta = std::vector<int64_t>;
  static constexpr bool kPerElement = true;
  static int64_t Oldest(const Entry&, const Meta& m) {
    return m.empty() ? std::numeric_limits<int64_t>::max() : *std::min_element(m.begin(), m.end());
  }
  static void Touch(Entry&, Meta& m, int64_t now) { std::fill(m.begin(), m.end(), now); }
  static bool RemoveExpired(Entry& e, Meta& m, int64_t ttl, int64_t now) {
    size_t out = 0;
    for (size_t i = 0; i < e.size(); ++i) {
      if (TtlExpired(m[i], ttl, now)) continue;
      if (out != i) {
        e[out] = std::move(e[i]);
        m[out] = m[i];
      }
      ++out;
    }
    e.resize(out);
    m.resize(out);
    return out > 0;
  }
  static void Write(const Entry& e, const Meta& m, ByteWriter& w) {
    w.WriteI64(Oldest(e, m));
    w.WriteVarint64(e.size());
    for (size_t i = 0; i < e.size(); ++i) {
      w.WriteI64(m[i]);
      Serializer<V>::Write(e[i], w);
    }
  }
  static absl::Status Read(ByteReader& r, Entry* e, Meta* m) {
    int64_t oldest = 0;
    uint64_t n = 0;
    RETURN_IF_ERROR(r.ReadI64(&oldest));
    RETURN_IF_ERROR(r.ReadLength(&n, r.remaining() / sizeof(int64_t)));
    e->clear();
    e->resize(n);
    m->resize(n);
    for (uint64_t i = 0; i < n; ++i) {
      RETURN_IF_ERROR(r.ReadI64(&(*m)[i]));
      RETURN_IF_ERROR(Serializer<V>::Read(r, &(*e)[i]));
    }
    return absl::OkStatus();
  }
};

// A timestamp per user key (Flink's TtlMapState), in a map parallel to the user map.
template <typename UK, typename UV>
struct MapTtl {
  using Entry = absl::flat_hash_map<UK, UV>;
  using Meta = absl::flat_hash_map<UK, int64_t>;
  static constexpr bool kPerElement = true;
  static int64_t Oldest(const Entry&, const Meta& m) {
    int64_t oldest = std::numeric_limits<int64_t>::max();
    for (const auto& [k, ts] : m) oldest = std::min(oldest, ts);
    return oldest;
  }
  static void Touch(Entry&, Meta& m, int64_t now) {
    for (auto& [k, ts] : m) ts = now;
  }
  static bool RemoveExpired(Entry& e, Meta& m, int64_t ttl, int64_t now) {
    for (auto it = m.begin(); it != m.end();) {
      if (TtlExpired(it->second, ttl, now)) {
        e.erase(it->first);
        m.erase(it++);
      } else {
        ++it;
      }
    }
    return !e.empty();
  }
  static void Write(const Entry& e, const Meta& m, ByteWriter& w) {
    w.WriteI64(Oldest(e, m));
    w.WriteVarint64(e.size());
    for (const auto& [k, v] : e) {
      auto ts = m.find(k);
      Serializer<UK>::Write(k, w);
      w.WriteI64(ts != m.end() ? ts->second : std::numeric_limits<int64_t>::min());
      Serializer<UV>::Write(v, w);
    }
  }
  static absl::Status Read(ByteReader& r, Entry* e, Meta* m) {
    int64_t oldest = 0;
    uint64_t n = 0;
    RETURN_IF_ERROR(r.ReadI64(&oldest));
    RETURN_IF_ERROR(r.ReadLength(&n, r.remaining() / sizeof(int64_t)));
    e->clear();
    m->clear();
    e->reserve(n);
    m->reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      UK k{};
      UV v{};
      int64_t ts = 0;
      RETURN_IF_ERROR(Serializer<UK>::Read(r, &k));
      RETURN_IF_ERROR(r.ReadI64(&ts));
      RETURN_IF_ERROR(Serializer<UV>::Read(r, &v));
      m->insert_or_assign(k, ts);
      e->insert_or_assign(std::move(k), std::move(v));
    }
    return absl::OkStatus();
  }
};

// Decides on one stored value (layout `Traits`) at `now_ms`: kept when its oldest timestamp is
// not expired (no parsing), removed when nothing unexpired is left, else rewritten without the
// expired elements. Bytes that do not parse are kept. Pure: used by the RocksDB compaction
// filter (on compaction threads) and by snapshots.
template <typename Traits>
TtlFilterDecision FilterStoredTtlValue(std::string_view bytes, int64_t ttl_ms, int64_t now_ms,
                                       std::string* rewritten) {
  int64_t oldest = 0;
  if (bytes.size() < sizeof(oldest)) return TtlFilterDecision::kKeep;
  std::memcpy(&oldest, bytes.data(), sizeof(oldest));
  if (!TtlExpired(oldest, ttl_ms, now_ms)) return TtlFilterDecision::kKeep;
  if constexpr (!Traits::kPerElement) {
    return TtlFilterDecision::kRemove;
  } else {
    typename Traits::Entry e{};
    typename Traits::Meta m{};
    ByteReader r(bytes);
    if (!Traits::Read(r, &e, &m).ok() || !r.at_end()) return TtlFilterDecision::kKeep;
    if (!Traits::RemoveExpired(e, m, ttl_ms, now_ms)) return TtlFilterDecision::kRemove;
    rewritten->clear();
    ByteWriter w(rewritten);
    Traits::Write(e, m, w);
    return TtlFilterDecision::kRewrite;
  }
}

}  // namespace internal
}  // namespace sluice::state
