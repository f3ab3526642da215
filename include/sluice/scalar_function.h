#pragma once
// Sluice C++ DataStream API: user-defined scalar functions (Flink's ScalarFunction), callable
// from expressions: the job spec's `filter`/`map` and SQL (`CREATE FUNCTION name AS 'Name'`).
//
//   class CountChar : public sluice::ScalarFunction {
//    public:
//     sluice::Type ResultType(const std::vector<sluice::Type>& args) const override {
//       if (args.size() != 2 || args[0] != sluice::Type::kString || args[1] != sluice::Type::kString)
//         throw std::invalid_argument("expects (string, string)");
//       return sluice::Type::kInt64;
//     }
//     void Eval(const sluice::ScalarArgs& args, sluice::ScalarResult& result) override {
//       ... result.SetInt64(n);
//     }
//   };
//   env.RegisterScalarFunction("CountChar", [] { return std::make_unique<CountChar>(); });
//
// A plugin that only registers functions (its build function adds no source) is a function
// library: `sluice sql run q.sql --plugin libudfs.so` plans the SQL with its functions, and the
// JobManager and TaskManagers load the same library to run them.
//
// Types inside expressions: arguments arrive as int64, double, string, bool or timestamp (int32
// and date fields read as int64 and timestamp; bytes as string); the result type must be one of
// those. Names: [A-Za-z_][A-Za-z0-9_]* (RegisterScalarFunction throws std::invalid_argument
// otherwise), matched case-insensitively; the engine refuses a plugin whose function is named
// like a built-in one (docs/job-spec.md lists them) or twice up to case.
//
// Calls: one instance per expression per subtask (the factory is called when the expression is
// compiled: once to type-check, then once per subtask that runs it), used by one thread only.
// With NullOnNullInput() (the default) a null argument makes the result null without calling
// Eval. Eval may throw: the exception's message fails the task (restart strategy), as an
// exception in any user function does. Strings passed in are valid during the call only; a
// string result is copied by the engine.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/types.h"

namespace sluice {

// One argument's value.
struct ScalarValue {
  Type type = Type::kInt64;
  bool null = false;
  int64_t i64 = 0;  // kInt64, kTimestamp (ms since the epoch)
  double f64 = 0;   // kDouble
  bool b = false;   // kBool
  std::string_view s;  // kString
};

// The arguments of one call (valid during the call).
class ScalarArgs {
 public:
  ScalarArgs(const ScalarValue* values, size_t n) : values_(values), n_(n) {}
  size_t size() const { return n_; }
  Type type(size_t i) const { return values_[i].type; }
  bool IsNull(size_t i) const { return values_[i].null; }
  int64_t GetInt64(size_t i) const { return values_[i].i64; }  // int64 and timestamp
  double GetDouble(size_t i) const { return values_[i].f64; }
  bool GetBool(size_t i) const { return values_[i].b; }
  std::string_view GetString(size_t i) const { return values_[i].s; }

 private:
  const ScalarValue* values_;
  size_t n_;
};

// Where Eval writes its result; null unless set. The setter must match ResultType (the engine
// fails the call otherwise). Reused across calls: strings keep their buffer.
class ScalarResult {
 public:
  void SetInt64(int64_t v) { Set(Type::kInt64).i64 = v; }
  void SetTimestamp(int64_t ms) { Set(Type::kTimestamp).i64 = ms; }
  void SetDouble(double v) { Set(Type::kDouble).f64 = v; }
  void SetBool(bool v) { Set(Type::kBool).b = v; }
  void SetString(std::string_view v) {
    text_.assign(v.data(), v.size());
    Set(Type::kString).s = text_;
  }
  void SetNull() { value_.null = true; }

  // For the engine.
  void Reset() { value_ = ScalarValue{Type::kInt64, true, 0, 0, false, {}}; }
  const ScalarValue& value() const { return value_; }

 private:
  ScalarValue& Set(Type t) {
    value_.type = t;
    value_.null = false;
    return value_;
  }
  ScalarValue value_{Type::kInt64, true, 0, 0, false, {}};
  std::string text_;
};

class ScalarFunction {
 public:
  virtual ~ScalarFunction() = default;
  // The result type for these argument types; throw std::invalid_argument (its message is
  // shown where the call is written) to refuse them.
  virtual Type ResultType(const std::vector<Type>& arg_types) const = 0;
  virtual void Eval(const ScalarArgs& args, ScalarResult& result) = 0;
  // SQL's RETURNS NULL ON NULL INPUT: true skips Eval when an argument is null.
  virtual bool NullOnNullInput() const { return true; }
};

using ScalarFunctionFactory = std::function<std::unique_ptr<ScalarFunction>()>;

}  // namespace sluice
