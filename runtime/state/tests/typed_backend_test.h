#pragma once
// The typed fixture the keyed state backend suites share (keyed_state_backend_test.cc,
// keyed_state_ttl_test.cc): a backend tag (HeapBackend, RocksDbBackend) whose BackendFactory
// makes a KeyedStateBackend with that storage, so both storages run the same tests; a manual
// clock for state TTL; a user struct with its own serializer.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/base/check.h"
#include "runtime/base/clock.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_state_backend.h"

// A user struct with its own serializer, as an operator would define one.
struct AvgAcc {
  int64_t sum = 0;
  int64_t count = 0;
  friend bool operator==(const AvgAcc&, const AvgAcc&) = default;
};
template <>
struct sluice::state::Serializer<AvgAcc> {
  static void Write(const AvgAcc& a, ByteWriter& w) {
    w.WriteI64(a.sum);
    w.WriteVarint64(static_cast<uint64_t>(a.count));
  }
  static absl::Status Read(ByteReader& r, AvgAcc* a) {
    RETURN_IF_ERROR(r.ReadI64(&a->sum));
    uint64_t c = 0;
    RETURN_IF_ERROR(r.ReadVarint64(&c));
    a->count = static_cast<int64_t>(c);
    return absl::OkStatus();
  }
};

namespace sluice::state::typed_test {

constexpr int32_t kMaxP = 128;

struct HeapBackend {};
struct RocksDbBackend {};

template <typename B>
struct BackendFactory;
template <>
struct BackendFactory<HeapBackend> {
  static constexpr bool kHeap = true;
  static std::unique_ptr<KeyedStateBackend> Make(int32_t max_p, core::KeyGroupRange range,
                                                 const Clock* clock = nullptr) {
    BackendOptions o;
    o.clock = clock;
    return std::make_unique<KeyedStateBackend>(max_p, range, o);
  }
};
template <>
struct BackendFactory<RocksDbBackend> {
  static constexpr bool kHeap = false;
  static std::unique_ptr<KeyedStateBackend> Make(int32_t max_p, core::KeyGroupRange range,
                                                 const Clock* clock = nullptr) {
    BackendOptions o;
    o.clock = clock;
    o.kind = BackendOptions::kRocksDb;
    o.local_dir = (std::filesystem::path(::testing::TempDir()) / "sluice-state-test").string();
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 16 << 20;
    auto b = KeyedStateBackend::Create(max_p, range, o);
    SLUICE_CHECK(b.ok(), "RocksDB backend: {}", b.status().ToString());
    return *std::move(b);
  }
};

inline int32_t KeyGroupOf(const std::string& key) {
  return core::ComputeKeyGroupForKeyHash(core::JavaStringHash(key), kMaxP);
}

inline AggregateFunction<int64_t, AvgAcc, double> AvgFn() {
  return {[] { return AvgAcc{}; },
          [](AvgAcc& a, const int64_t& v) {
            a.sum += v;
            ++a.count;
          },
          [](const AvgAcc& a) { return static_cast<double>(a.sum) / static_cast<double>(a.count); }};
}

template <typename Tag>
class KeyedStateBackendTest : public ::testing::Test {
 protected:
  using B = KeyedStateBackend;
  std::unique_ptr<B> Make(core::KeyGroupRange range = {0, kMaxP - 1}) {
    return BackendFactory<Tag>::Make(kMaxP, range, &clock_);
  }
  // Processing time of every backend this fixture makes (state TTL).
  ManualClock clock_{1'000'000};
  // Sets the key (its real key group) on `b`.
  static void Key(B& b, const std::string& key) { b.SetCurrentKey(key, KeyGroupOf(key)); }

  static std::pair<std::vector<std::string_view>,
                   std::vector<std::vector<std::pair<int32_t, uint64_t>>>>
  Views(const std::vector<KeyedStateSnapshot>& snaps) {
    std::vector<std::string_view> bytes;
    std::vector<std::vector<std::pair<int32_t, uint64_t>>> offsets;
    for (const auto& s : snaps) {
      bytes.push_back(s.bytes);
      offsets.push_back(s.key_group_offsets);
    }
    return {bytes, offsets};
  }
  absl::Status RestoreFrom(B& b, const std::vector<KeyedStateSnapshot>& snaps) {
    auto [bytes, offsets] = Views(snaps);
    return b.Restore(bytes, offsets);
  }
};

class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return BackendFactory<T>::kHeap ? "Heap" : "RocksDb";
  }
};

using Backends = ::testing::Types<HeapBackend, RocksDbBackend>;

}  // namespace sluice::state::typed_test
