// A function library for SQL (include/sluice/scalar_function.h): Nexmark's user-defined
// function CountChar (nexmark-flink's com.github.nexmark.flink.udf.CountChar), used by q14:
//
//   CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar';
//   SELECT count_char(extra, 'c') FROM bid;
//
// Build it like any job plugin (find_package(Sluice), or in the source tree as the target
// sluice_nexmark_udfs) and give it to the SQL commands: `sluice sql run q14.sql --plugin
// libnexmark_udfs.so`. Its build function registers functions and defines no job.

#include <stdexcept>
#include <string_view>

#include "sluice/plugin.h"
#include "sluice/scalar_function.h"

namespace {

// count_char(s, c): how many times the one-character string c occurs in s (Flink's CountChar
// counts a char in a string).
class CountChar : public sluice::ScalarFunction {
 public:
  sluice::Type ResultType(const std::vector<sluice::Type>& args) const override {
    if (args.size() != 2 || args[0] != sluice::Type::kString || args[1] != sluice::Type::kString) {
      throw std::invalid_argument("expects (STRING s, STRING c)");
    }
    return sluice::Type::kInt64;
  }
  void Eval(const sluice::ScalarArgs& args, sluice::ScalarResult& result) override {
    const std::string_view s = args.GetString(0), c = args.GetString(1);
    if (c.size() != 1) throw std::invalid_argument("the character must be one byte long");
    int64_t n = 0;
    for (char ch : s) n += ch == c[0] ? 1 : 0;
    result.SetInt64(n);
  }
};

void Build(sluice::StreamExecutionEnvironment& env, const std::vector<std::string>&) {
  env.RegisterScalarFunction("CountChar", [] { return std::make_unique<CountChar>(); });
}

}  // namespace

SLUICE_JOB(Build)
