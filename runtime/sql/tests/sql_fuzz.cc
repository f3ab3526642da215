// Fuzz target of the SQL front end: any bytes, compiled as a SQL script (dialect pass, parser,
// catalog, planner, and the job compiler on the generated spec), must give errors or a job,
// never a crash, a hang or an exception.
//
// LLVMFuzzerTestOneInput is libFuzzer's entry point (link with -fsanitize=fuzzer to use it).
// Without libFuzzer, main() is a small mutation fuzzer for CI: it mutates the scripts of a seed
// corpus (deletions, duplications, splices, SQL tokens, byte flips) for --seconds, writing each
// input to --crash-file before running it, so that a crash leaves the input behind.
//   sql_fuzz --seconds 20 --seed 1 --crash-file /tmp/crash.sql corpus/*.sql

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/sql/sql_compiler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sluice::sql::SourceText source("fuzz.sql", std::string(reinterpret_cast<const char*>(data), size));
  sluice::sql::CompiledSql result = sluice::sql::CompileSql(
      source, "/nonexistent", sluice::sql::SqlOptions{.schema_registry_lookups = false});
  // Every error is positioned in the script.
  for (const std::string& e : result.errors) {
    if (e.rfind("fuzz.sql:", 0) != 0) {
      std::fprintf(stderr, "an error without a position: %s\n", e.c_str());
      std::abort();
    }
  }
  return 0;
}

namespace {

const char* const kTokens[] = {
    "SELECT", "FROM", "WHERE", "GROUP BY", "HAVING", "JOIN", "ON", "AND", "OR", "NOT", "(", ")",
    ",", ";", "'", "\"", "`", "*", "=", "<=", "||", "INSERT INTO t ", "CREATE TABLE ",
    "CREATE VIEW v AS ", "WITH (", "'connector' = 'print'", "WATERMARK FOR ", " AS ",
    "INTERVAL '1' SECOND", "TABLE(TUMBLE(TABLE ", "DESCRIPTOR(", "ROW_NUMBER() OVER (",
    "PARTITION BY ", "ORDER BY ", "FOR SYSTEM_TIME AS OF ", "UNION ALL ", "CAST(", " AS BIGINT)",
    "CASE WHEN ", " THEN ", " ELSE ", " END", "NULL", "count(*)", "window_start", "window_end",
    "PROCTIME()", "SET 'parallelism.default' = '2';", "EXPLAIN ", "1e308", "-9223372036854775808",
    "/*", "*/", "--", "\n", "DOUBLE", "ROW<", "$1", "\\", "\x80", "\xff",
};

std::string Mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  auto pick = [&rng](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const int n = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < n; ++i) {
    const size_t at = pick(s.size() + 1);
    switch (pick(6)) {
      case 0: s.erase(at, pick(32)); break;                                       // delete
      case 1: s.insert(at, s.substr(pick(s.size() + 1), pick(64))); break;        // duplicate
      case 2: s.insert(at, kTokens[pick(std::size(kTokens))]); break;             // a token
      case 3: if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng()); break;  // a byte
      case 4: {                                                                    // splice
        const std::string& other = corpus[pick(corpus.size())];
        s = s.substr(0, at) + other.substr(pick(other.size() + 1));
        break;
      }
      default: s.resize(at); break;                                                // truncate
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 10;
  uint64_t seed = 1;
  std::string crash_file = "sql_fuzz_input.sql";
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::stoi(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = std::stoull(argv[++i]);
    else if (a == "--crash-file" && i + 1 < argc) crash_file = argv[++i];
    else {
      std::ifstream in(a, std::ios::binary);
      if (!in) {
        std::cerr << "sql_fuzz: cannot read seed " << a << "\n";
        return 2;
      }
      std::stringstream text;
      text << in.rdbuf();
      corpus.push_back(text.str());
    }
  }
  if (corpus.empty()) {
    std::cerr << "usage: sql_fuzz [--seconds N] [--seed S] [--crash-file F] seed.sql...\n";
    return 2;
  }
  std::mt19937_64 rng(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string input = Mutate(corpus[rng() % corpus.size()], corpus, rng);
    {
      std::ofstream out(crash_file, std::ios::binary | std::ios::trunc);
      out << input;
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    ++runs;
  }
  std::remove(crash_file.c_str());
  std::cout << "sql_fuzz: " << runs << " inputs from " << corpus.size() << " seeds (seed " << seed
            << ") in " << seconds << " s, no crash\n";
  return 0;
}
