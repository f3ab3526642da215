#pragma once
// TaskDeploymentDescriptor <-> SubmitTaskRequest, the one place that maps the deployment types
// of runtime/deployment to their protobuf form (used by the JobManager's TaskExecutorGateway and
// the TaskManager's TaskExecutorService). FromProto validates ids and returns InvalidArgument
// naming the malformed field; everything else is a plain copy.

#include "absl/status/statusor.h"
#include "runtime/deployment/task_deployment_descriptor.h"
#include "sluice/v1/taskmanager.pb.h"

namespace sluice::rpc {

void ToProto(const deployment::TaskDeploymentDescriptor& tdd, v1::SubmitTaskRequest* out);
absl::StatusOr<deployment::TaskDeploymentDescriptor> FromProto(const v1::SubmitTaskRequest& req);

// The job spec part alone (also in GetJob responses).
void ToProto(const job::JobSubmission& job, v1::JobSubmission* out);
job::JobSubmission FromProto(const v1::JobSubmission& job);

}  // namespace sluice::rpc
