#pragma once
// The web dashboard's files (web/dashboard/), embedded into the JobManager at build time by
// cmake/embed_assets.cmake, and the routes that serve them at "/" (index.html) and
// "/<path>". The dashboard is a static single-page app over the REST API of the same origin.

#include <cstddef>
#include <string_view>

#include "runtime/http/router.h"

namespace sluice::jobmanager::rest {

struct WebAsset {
  std::string_view path;   // "/index.html", "/js/app.js"
  std::string_view bytes;
};

extern const WebAsset kWebAssets[];  // kWebAssetCount entries, then a terminator
extern const size_t kWebAssetCount;

// Content type by file extension (html, js, mjs, css, svg, png, ico, json, map; else bytes).
std::string_view ContentTypeOf(std::string_view path);

// GET / and GET /<asset path> for every embedded asset.
void AddWebRoutes(http::Router& router);

}  // namespace sluice::jobmanager::rest
