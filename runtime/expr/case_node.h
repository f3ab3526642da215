#pragma once
// SQL's CASE expression (internal to runtime/expr; built by the parser):
//   CASE WHEN c1 THEN v1 [WHEN c2 THEN v2 ...] [ELSE e] END          -- searched
//   CASE x WHEN a1 THEN v1 [WHEN a2 THEN v2 ...] [ELSE e] END        -- simple: x = a1, ...
// The first branch whose condition is true (searched; a null condition is not true) or whose
// value equals the operand (simple; a null operand or value never equals) gives the result;
// without a match the ELSE value, or null without ELSE. Only the chosen branch is evaluated, so
// `CASE WHEN d <> 0 THEN n / d END` never divides by zero. Branch values have one type, or
// int64 and double mixed (-> double). Evaluated row by row (the default Node::EvalBatch).

#include "runtime/expr/nodes.h"

namespace sluice::expr {

class CaseNode final : public Node {
 public:
  struct Branch {
    std::unique_ptr<Node> when;  // bool condition (searched) or a value (simple)
    std::unique_ptr<Node> then;
  };
  // `operand`: null for the searched form. `otherwise`: the ELSE value, or null.
  CaseNode(Type result, std::unique_ptr<Node> operand, std::vector<Branch> branches,
           std::unique_ptr<Node> otherwise, int begin, int end)
      : Node(result, begin, end),
        operand_(std::move(operand)),
        branches_(std::move(branches)),
        otherwise_(std::move(otherwise)) {}

  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    if (operand_) RETURN_IF_ERROR(operand_->Eval(b, row, &op_));
    for (Branch& br : branches_) {
      RETURN_IF_ERROR(br.when->Eval(b, row, &when_));
      const bool match = operand_ ? Equal(*br.when) : !when_.null && when_.b;
      if (match) return EvalAs(type(), *br.then, b, row, out);
    }
    if (otherwise_) return EvalAs(type(), *otherwise_, b, row, out);
    out->null = true;
    return absl::OkStatus();
  }

 private:
  // Simple form: operand (op_) = WHEN value (when_), types checked by the parser to compare.
  bool Equal(const Node& when) const {
    if (op_.null || when_.null) return false;
    const Type ot = operand_->type(), wt = when.type();
    if (ot == Type::kDouble || wt == Type::kDouble) return AsDouble(ot, op_) == AsDouble(wt, when_);
    switch (ot) {
      case Type::kString: return op_.s == when_.s;
      case Type::kBool: return op_.b == when_.b;
      default: return op_.i64 == when_.i64;
    }
  }

  std::unique_ptr<Node> operand_;
  std::vector<Branch> branches_;
  std::unique_ptr<Node> otherwise_;
  Datum op_, when_;
};

}  // namespace sluice::expr
