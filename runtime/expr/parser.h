#pragma once
// Parser and type checker of the expression language (internal to runtime/expr; grammar and
// typing rules in expression.h): text -> a typed evaluation tree.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/core/types.h"
#include "runtime/expr/expression.h"
#include "runtime/expr/nodes.h"

namespace sluice::expr {

struct ParsedExpression {
  std::unique_ptr<Node> root;
  std::vector<std::string> fields;  // input fields read, in order of first appearance
};

// Parses and type-checks `text` against `input`. On error: InvalidArgument (see
// Expression::Compile) with *error_offset set to the 0-based offset of the problem.
// `functions`: user-defined scalar functions callable by name (may be null).
absl::StatusOr<ParsedExpression> ParseExpression(std::string_view text, const core::Schema& input,
                                                 int* error_offset,
                                                 const ScalarFunctions* functions = nullptr);

}  // namespace sluice::expr
