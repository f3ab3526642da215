#include <string>

#include "jobmanager/rest/web_assets.h"

namespace sluice::jobmanager::rest {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void Serve(const WebAsset& asset, http::Response* res) {
  res->Set(200, std::string(asset.bytes), std::string(ContentTypeOf(asset.path)));
  // The dashboard and the JobManager are upgraded together; never run stale scripts.
  res->headers.emplace_back("Cache-Control", "no-cache");
}

}  // namespace

std::string_view ContentTypeOf(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".map", "application/json"}};
  for (const auto& [ext, type] : kTypes) {
    if (EndsWith(path, ext)) return type;
  }
  return "application/octet-stream";
}

void AddWebRoutes(http::Router& router) {
  for (size_t i = 0; i < kWebAssetCount; ++i) {
    const WebAsset* asset = &kWebAssets[i];
    router.Get(asset->path,
               [asset](const http::Request&, http::Response* res) { Serve(*asset, res); });
    if (asset->path == "/index.html") {
      router.Get("/", [asset](const http::Request&, http::Response* res) { Serve(*asset, res); });
    }
  }
}

}  // namespace sluice::jobmanager::rest
