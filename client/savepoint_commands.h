#pragma once
// The CLI's savepoint verbs (Flink's `flink savepoint`, `flink stop`): take a savepoint (and
// wait for it, showing progress), dispose of one, stop a job with a savepoint (optionally
// draining it first), and rescale a job through a savepoint. Each returns the exit code.

#include "client/cli_options.h"

namespace sluice::client {

// `sluice savepoint <job>` or `sluice savepoint --dispose <path>`.
int Savepoint(const Options& o);
// `sluice stop <job> [--drain]`.
int Stop(const Options& o);
// `sluice rescale <job> -p N`: stop with savepoint, then a new job from it at parallelism N.
int Rescale(const Options& o);

}  // namespace sluice::client
