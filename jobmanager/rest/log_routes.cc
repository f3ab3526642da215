#include "jobmanager/rest/log_routes.h"

#include "jobmanager/rest/rest_json.h"

namespace sluice::jobmanager::rest {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

Json LogListJson(const std::vector<LogFileInfo>& files) {
  Json logs = Json::array();
  for (const LogFileInfo& f : files) {
    logs.push_back({{"name", f.name}, {"size", f.size_bytes}, {"mtime", f.mtime_ms}});
  }
  return Json{{"logs", std::move(logs)}};
}

void ReplyFile(http::Response* res, absl::StatusOr<int> fd) {
  if (!fd.ok()) return ReplyStatus(res, fd.status());
  res->status = 200;
  res->content_type = kText;
  res->body_file = http::UniqueFd(*fd);
}

std::string TaskManagerId(const http::Request& req) {
  return std::string(req.PathParam("taskmanagerid"));
}

}  // namespace

const LogFileInfo* CurrentLogFileOf(const std::vector<LogFileInfo>& files, std::string_view stem) {
  const LogFileInfo* newest = nullptr;
  const LogFileInfo* newest_of_stem = nullptr;
  for (const LogFileInfo& f : files) {
    if (newest == nullptr || f.mtime_ms > newest->mtime_ms) newest = &f;
    if (std::string_view(f.name).starts_with(stem) &&
        (newest_of_stem == nullptr || f.mtime_ms > newest_of_stem->mtime_ms)) {
      newest_of_stem = &f;
    }
  }
  return newest_of_stem != nullptr ? newest_of_stem : newest;
}

void AddLogRoutes(http::Router& router, const std::string* jobmanager_log_dir,
                  TaskManagerLogs* taskmanagers) {
  router.Get("/jobmanager/logs", [jobmanager_log_dir](const http::Request&, http::Response* res) {
    Reply(res, 200, LogListJson(ListLogFiles(*jobmanager_log_dir)));
  });
  router.Get("/jobmanager/logs/:filename",
             [jobmanager_log_dir](const http::Request& req, http::Response* res) {
               ReplyFile(res, OpenLogFile(*jobmanager_log_dir, req.PathParam("filename")));
             });
  router.Get("/jobmanager/log", [jobmanager_log_dir](const http::Request&, http::Response* res) {
    const std::vector<LogFileInfo> files = ListLogFiles(*jobmanager_log_dir);
    const LogFileInfo* current = CurrentLogFileOf(files, "jobmanager");
    if (current == nullptr) {
      return ReplyError(res, 404, "the JobManager has no log file (env.log.dir is not set)");
    }
    ReplyFile(res, OpenLogFile(*jobmanager_log_dir, current->name));
  });

  auto no_taskmanager_logs = [](http::Response* res) {
    ReplyError(res, 404, "TaskManager logs are not available");
  };
  router.Get("/taskmanagers/:taskmanagerid/logs",
             [=](const http::Request& req, http::Response* res) {
               if (taskmanagers == nullptr) return no_taskmanager_logs(res);
               auto files = taskmanagers->List(TaskManagerId(req));
               if (!files.ok()) return ReplyStatus(res, files.status());
               Reply(res, 200, LogListJson(*files));
             });
  router.Get("/taskmanagers/:taskmanagerid/logs/:filename",
             [=](const http::Request& req, http::Response* res) {
               if (taskmanagers == nullptr) return no_taskmanager_logs(res);
               ReplyFile(res, taskmanagers->Fetch(TaskManagerId(req),
                                                  std::string(req.PathParam("filename"))));
             });
  router.Get("/taskmanagers/:taskmanagerid/log",
             [=](const http::Request& req, http::Response* res) {
               if (taskmanagers == nullptr) return no_taskmanager_logs(res);
               const std::string id = TaskManagerId(req);
               auto files = taskmanagers->List(id);
               if (!files.ok()) return ReplyStatus(res, files.status());
               const LogFileInfo* current = CurrentLogFileOf(*files, "taskmanager");
               if (current == nullptr) {
                 return ReplyError(res, 404, "TaskManager " + id +
                                                 " has no log file (env.log.dir is not set)");
               }
               ReplyFile(res, taskmanagers->Fetch(id, current->name));
             });
}

}  // namespace sluice::jobmanager::rest
