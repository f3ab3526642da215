// Google Benchmark suite for the Kafka message formats (issue 13): decoding one message value
// into a row and encoding a row into a value, for json (simdjson) and avro (avro-c), on the
// flights example's columns. avro-confluent adds a 5-byte header and a cached schema lookup to
// avro. Figures are recorded in benchmarks/RESULTS.md; run with
//   build/bin/formats_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/core/record_batch.h"
#include "runtime/formats/record_encoder.h"
#include "runtime/formats/record_format.h"

namespace sluice {
namespace {

constexpr size_t kRows = 1024;
const char* const kAirports[] = {"ATL", "ORD", "DFW", "DEN", "LAX", "SFO", "JFK", "SEA"};

core::SchemaPtr FlightSchema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{
      {"date", core::Type::kTimestamp}, {"delay", core::Type::kInt64},
      {"distance", core::Type::kInt64}, {"origin", core::Type::kString},
      {"destination", core::Type::kString}});
}

core::RecordBatch Rows() {
  core::RecordBatch b(FlightSchema());
  for (size_t i = 0; i < kRows; ++i) {
    const size_t r = b.AppendRow();
    b.SetInt64(r, 0, 978307200000 + static_cast<int64_t>(i) * 60000);
    b.SetInt64(r, 1, static_cast<int64_t>((i * 7919) % 120) - 20);
    b.SetInt64(r, 2, static_cast<int64_t>(100 + i % 2000));
    b.SetString(r, 3, kAirports[i % 8]);
    b.SetString(r, 4, kAirports[(i * 3 + 1) % 8]);
  }
  return b;
}

formats::RecordFormatOptions Opts(formats::RecordFormat f) {
  formats::RecordFormatOptions o;
  o.format = f;
  return o;
}

// The encoded values of Rows() in format `f`.
std::vector<std::string> Encoded(formats::RecordFormat f) {
  auto enc = formats::RecordEncoder::Create(FlightSchema(), Opts(f));
  core::RecordBatch rows = Rows();
  std::vector<std::string> out(kRows);
  for (size_t r = 0; r < kRows; ++r) (void)(*enc)->EncodeValue(rows, r, &out[r]);
  return out;
}

void BM_Decode(benchmark::State& state, formats::RecordFormat f) {
  const std::vector<std::string> values = Encoded(f);
  auto dec = formats::RecordDecoder::Create(FlightSchema(), Opts(f));
  core::RecordBatch batch(FlightSchema());
  int64_t bytes = 0;
  for (const std::string& v : values) bytes += static_cast<int64_t>(v.size());
  for (auto _ : state) {
    batch.Clear();
    for (const std::string& v : values) benchmark::DoNotOptimize((*dec)->Decode(v, &batch));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK_CAPTURE(BM_Decode, json, formats::RecordFormat::kJson);
BENCHMARK_CAPTURE(BM_Decode, avro, formats::RecordFormat::kAvro);

void BM_Encode(benchmark::State& state, formats::RecordFormat f) {
  auto enc = formats::RecordEncoder::Create(FlightSchema(), Opts(f));
  core::RecordBatch rows = Rows();
  std::string out;
  for (auto _ : state) {
    for (size_t r = 0; r < kRows; ++r) benchmark::DoNotOptimize((*enc)->EncodeValue(rows, r, &out));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
}
BENCHMARK_CAPTURE(BM_Encode, json, formats::RecordFormat::kJson);
BENCHMARK_CAPTURE(BM_Encode, avro, formats::RecordFormat::kAvro);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
