#include "runtime/metrics/prometheus.h"

#include <cmath>

#include "fmt/format.h"

namespace sluice::metrics {
namespace {

// Label values escape backslash, double quote and newline.
std::string EscapeLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::floor(v) == v && std::fabs(v) < 9.2e18)
    return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

}  // namespace

std::string SanitizeMetricName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == ':';
    if (!ok) c = '_';
  }
  return out;
}

void PrometheusText::Add(std::string_view scope, std::string_view name, const Labels& labels,
                         double value) {
  std::string metric = "flink_" + SanitizeMetricName(scope) + "_" + SanitizeMetricName(name);
  std::string line = metric;
  if (!labels.empty()) {
    line += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) line += ',';
      line += SanitizeMetricName(labels[i].first);
      line += "=\"";
      line += EscapeLabel(labels[i].second);
      line += '"';
    }
    line += '}';
  }
  line += ' ';
  line += FormatValue(value);
  samples_[std::move(metric)].push_back(std::move(line));
}

std::string PrometheusText::Render() const {
  std::string out;
  for (const auto& [metric, lines] : samples_) {
    out += "# TYPE ";
    out += metric;
    out += " gauge\n";
    for (const auto& l : lines) {
      out += l;
      out += '\n';
    }
  }
  return out;
}

}  // namespace sluice::metrics
