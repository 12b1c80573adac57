/*
 * AOT executor: drives a TVM-generated AOT model (packed interface) through its TVMMetadata.
 * Holds one NDArray per input and output; `run` calls `<mod_name>_run` with them.
 */
#ifndef TVM_RUNTIME_CRT_AOT_EXECUTOR_H_
#define TVM_RUNTIME_CRT_AOT_EXECUTOR_H_

#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/ndarray.h>
#include <tvm/runtime/metadata_types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TVMAotExecutor {
  const struct TVMMetadata* metadata;
  DLDevice device;
  TVMModuleHandle module_handle;
  TVMFunctionHandle run_func;
  TVMNDArray** args; /* inputs, outputs, workspace pools (pools: shape only, no data) */
  size_t num_args;
} TVMAotExecutor;

/* Reads the metadata of model `module_name` (`tvmgen_<name>_get_c_metadata` in `module_handle`)
 * and allocates its inputs and outputs. Fails (with a last-error message) on any problem. */
int TVMAotExecutor_Create(TVMModuleHandle module_handle, DLDevice device,
                          const char* module_name, TVMAotExecutor** out);
int TVMAotExecutor_Release(TVMAotExecutor* executor);
int TVMAotExecutor_GetNumInputs(const TVMAotExecutor* executor);
int TVMAotExecutor_GetNumOutputs(const TVMAotExecutor* executor);
/* Index of input `name`, or -1. */
int TVMAotExecutor_GetInputIndex(const TVMAotExecutor* executor, const char* name);
/* NULL for an index out of range. */
const char* TVMAotExecutor_GetInputName(const TVMAotExecutor* executor, int index);
TVMNDArray* TVMAotExecutor_GetInput(const TVMAotExecutor* executor, int index);
TVMNDArray* TVMAotExecutor_GetOutput(const TVMAotExecutor* executor, int index);
/* Copies `tensor` (same byte size) into input `index`. */
int TVMAotExecutor_SetInput(TVMAotExecutor* executor, int index, const DLTensor* tensor);
int TVMAotExecutor_Run(TVMAotExecutor* executor);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_AOT_EXECUTOR_H_ */
