#pragma once
// The JobManager's views (job_views.h, resource_manager.h, checkpoint_dispatcher.h) in their
// protobuf form, for the gRPC DispatcherService and the REST API. One place, so both agree.

#include <vector>

#include "jobmanager/checkpoint_dispatcher.h"
#include "jobmanager/job_views.h"
#include "jobmanager/resource_manager.h"
#include "sluice/v1/jobmanager.pb.h"

namespace sluice::jobmanager {

void ToProto(const TaskMetrics& m, v1::TaskMetrics* out);
TaskMetrics FromProto(const v1::TaskMetrics& m);
void ToProto(const JobSummaryView& s, v1::JobSummary* out);
void ToProto(const JobDetailsView& d, v1::GetJobResponse* out);
v1::ListTaskManagersResponse ToProto(const std::vector<TaskManagerInfo>& tms);
v1::SavepointStatus ToProto(const SavepointProgress& p);

}  // namespace sluice::jobmanager
