#pragma once
// Sluice C++ DataStream API: everything a job plugin includes.
//   types.h        field types, Schema, kApiVersion
//   row.h          Row (reading), RowWriter and Collector (writing), OutputTag
//   serializer.h   TypeSerializer<T> for state and user structs
//   state.h        ValueState, ListState, MapState, broadcast state
//   functions.h    MapFunction ... BroadcastProcessFunction, RuntimeContext, timers
//   windows.h      AggregateFunction for windows
//   environment.h  StreamExecutionEnvironment, DataStream, KeyedStream, windows, joins
//   plugin.h       SLUICE_JOB: the plugin's entry point
// docs/cpp-api.md is the guide.

#include "sluice/environment.h"
#include "sluice/functions.h"
#include "sluice/plugin.h"
#include "sluice/row.h"
#include "sluice/serializer.h"
#include "sluice/state.h"
#include "sluice/types.h"
#include "sluice/windows.h"
