/*
 * Device-side graph executor: runs a TVM graph (JSON) whose operators are functions of a module
 * (the system library). All memory comes from TVMPlatformMemoryAllocate, sized from the graph.
 */
#ifndef TVM_RUNTIME_CRT_GRAPH_EXECUTOR_H_
#define TVM_RUNTIME_CRT_GRAPH_EXECUTOR_H_

#include <stddef.h>
#include <stdint.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/ndarray.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TVMGraphExecutor TVMGraphExecutor;

/* Parses `json` (json_len bytes, need not be terminated), plans storage from the storage ids,
 * binds every operator from `module_handle`. Fails with a last-error message naming the
 * problem (syntax error with offset, unknown operator, unsupported op, too many arguments). */
int TVMGraphExecutor_Create(const char* json, size_t json_len, TVMModuleHandle module_handle,
                            DLDevice device, TVMGraphExecutor** out);
int TVMGraphExecutor_Release(TVMGraphExecutor* executor);

int TVMGraphExecutor_GetNumInputs(const TVMGraphExecutor* executor);
int TVMGraphExecutor_GetNumOutputs(const TVMGraphExecutor* executor);
/* Index of input `name` (an argument node of the graph), or -1. */
int TVMGraphExecutor_GetInputIndex(const TVMGraphExecutor* executor, const char* name);
const char* TVMGraphExecutor_GetInputName(const TVMGraphExecutor* executor, int index);
TVMNDArray* TVMGraphExecutor_GetInput(const TVMGraphExecutor* executor, int index);
TVMNDArray* TVMGraphExecutor_GetOutput(const TVMGraphExecutor* executor, int index);
int TVMGraphExecutor_SetInput(TVMGraphExecutor* executor, int index, const DLTensor* tensor);
/* Loads an NDArray-list blob (the .params format): every name must be an input of matching
 * size. Validated completely before anything is copied. */
int TVMGraphExecutor_LoadParams(TVMGraphExecutor* executor, const char* data, size_t size);
int TVMGraphExecutor_Run(TVMGraphExecutor* executor);

int TVMGraphExecutor_GetNumNodes(const TVMGraphExecutor* executor);
const char* TVMGraphExecutor_GetNodeName(const TVMGraphExecutor* executor, int node);
/* Runs once, storing each node's time in seconds (0 for non-operator nodes) in
 * node_seconds[num_nodes], measured with TVMPlatformTimerStart/Stop around each operator. */
int TVMGraphExecutor_RunProfile(TVMGraphExecutor* executor, double* node_seconds);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_GRAPH_EXECUTOR_H_ */
