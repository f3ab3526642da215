#pragma once
// The call node of a user-defined scalar function (include/sluice/scalar_function.h): evaluates
// its arguments, converts them into ScalarValues and calls the function's Eval, row by row
// (the default EvalBatch collects the rows). Internal to runtime/expr.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/base/status.h"
#include "runtime/expr/nodes.h"
#include "sluice/scalar_function.h"

namespace sluice::expr {

// The API's type of an expression type (the expression language's types are the engine's).
inline sluice::Type ApiType(Type t) { return static_cast<sluice::Type>(static_cast<uint8_t>(t)); }

class UdfNode final : public Node {
 public:
  UdfNode(std::string name, std::unique_ptr<sluice::ScalarFunction> fn, Type result,
          std::vector<std::unique_ptr<Node>> args, int begin, int end)
      : Node(result, begin, end), name_(std::move(name)), fn_(std::move(fn)),
        args_(std::move(args)), datums_(args_.size()), values_(args_.size()),
        null_on_null_(fn_->NullOnNullInput()) {}

  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    bool any_null = false;
    for (size_t i = 0; i < args_.size(); ++i) {
      RETURN_IF_ERROR(args_[i]->Eval(b, row, &datums_[i]));
      const Datum& d = datums_[i];
      sluice::ScalarValue& v = values_[i];
      v.type = ApiType(args_[i]->type());
      v.null = d.null;
      any_null |= d.null;
      v.i64 = d.i64;
      v.f64 = args_[i]->type() == Type::kDouble ? d.f64 : 0;
      v.b = args_[i]->type() == Type::kBool && d.b;
      v.s = d.s;
    }
    out->null = true;
    if (any_null && null_on_null_) return absl::OkStatus();
    result_.Reset();
    try {
      fn_->Eval(sluice::ScalarArgs(values_.data(), values_.size()), result_);
    } catch (const std::exception& e) {
      return InvalidArgumentF("function '{}' threw: {}", name_, e.what());
    } catch (...) {
      return InvalidArgumentF("function '{}' threw an exception not derived from std::exception",
                              name_);
    }
    const sluice::ScalarValue& r = result_.value();
    if (r.null) return absl::OkStatus();
    if (r.type != ApiType(type())) {
      return InvalidArgumentF("function '{}' returned a {} where its ResultType is {}", name_,
                              sluice::TypeName(r.type), core::TypeName(type()));
    }
    out->null = false;
    switch (type()) {
      case Type::kDouble: out->f64 = r.f64; break;
      case Type::kBool: out->b = r.b; break;
      case Type::kString: out->s = r.s; break;
      default: out->i64 = r.i64; break;
    }
    return absl::OkStatus();
  }

 private:
  std::string name_;
  std::unique_ptr<sluice::ScalarFunction> fn_;
  std::vector<std::unique_ptr<Node>> args_;
  std::vector<Datum> datums_;
  std::vector<sluice::ScalarValue> values_;
  sluice::ScalarResult result_;  // its string stays valid until the next call
  bool null_on_null_;
};

}  // namespace sluice::expr
