/* projectapi_model_init/run for a graph-executor model: the runtime's device-side graph
 * executor over the graph and parameters in graph_model_data.h (generated per model), copying
 * the glue's static input and output buffers (model_glue.h) in and out. */
#include <string.h>

#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/graph_executor.h>

#include "model_glue.h"
#include "graph_model_data.h"

static TVMGraphExecutor* executor;
static TVMNDArray* inputs[PROJECTAPI_GRAPH_NUM_INPUTS > 0 ? PROJECTAPI_GRAPH_NUM_INPUTS : 1];
static TVMNDArray* outputs[PROJECTAPI_GRAPH_NUM_OUTPUTS > 0 ? PROJECTAPI_GRAPH_NUM_OUTPUTS : 1];

/* The executor over the system library's operators, or -1 with the runtime's error set. */
static int32_t create_executor(void) {
  static const DLDevice cpu = {kDLCPU, 0};
  TVMFunctionHandle get_syslib = NULL;
  TVMValue syslib;
  int syslib_code = kTVMNullptr;
  if (TVMInitializeRuntime() != kTvmErrorNoError ||
      TVMFuncGetGlobal("runtime.SystemLib", &get_syslib) != 0 ||
      TVMFuncCall(get_syslib, NULL, NULL, 0, &syslib, &syslib_code) != 0 ||
      TVMGraphExecutor_Create(graph_json, sizeof(graph_json) - 1, syslib.v_handle, cpu,
                              &executor) != 0) {
    executor = NULL;
    return -1;
  }
  return 0;
}

/* Finds the input and output arrays and checks their sizes against the glue's buffers. */
static int32_t bind_tensors(void) {
  for (size_t i = 0; i < projectapi_model_num_inputs; ++i) {
    inputs[i] = TVMGraphExecutor_GetInput(
        executor, TVMGraphExecutor_GetInputIndex(executor, input_names[i]));
    if (inputs[i] == NULL ||
        (size_t)TVMNDArray_DataSizeBytes(&inputs[i]->dl_tensor) != input_nbytes[i]) {
      return -1;
    }
  }
  for (size_t i = 0; i < projectapi_model_num_outputs; ++i) {
    outputs[i] = TVMGraphExecutor_GetOutput(executor, (int)i);
    if (outputs[i] == NULL ||
        (size_t)TVMNDArray_DataSizeBytes(&outputs[i]->dl_tensor) != output_nbytes[i]) {
      return -1;
    }
  }
  return 0;
}

/* Loads the parameters that are not linked into the model code (none for some archives). */
static int32_t load_params(void) {
#if PROJECTAPI_GRAPH_HAS_PARAMS
  return TVMGraphExecutor_LoadParams(executor, (const char*)graph_params, sizeof(graph_params));
#else
  return 0;
#endif
}

/* Creates the executor once: graph, parameters, and the input and output arrays. */
int32_t projectapi_model_init(void) {
  if (executor != NULL) return 0;
  if (create_executor() != 0) return -1;
  if (load_params() == 0 && bind_tensors() == 0) return 0;
  if (TVMGetLastError()[0] == '\0') {
    TVMAPISetLastError("the graph does not match the model's tensors");
  }
  TVMGraphExecutor_Release(executor);
  executor = NULL;
  return -1;
}

int32_t projectapi_model_run(void) {
  int32_t status = projectapi_model_init();
  if (status != 0) return status;
  for (size_t i = 0; i < projectapi_model_num_inputs; ++i) {
    memcpy(inputs[i]->dl_tensor.data, projectapi_model_input_data[i], input_nbytes[i]);
  }
  status = TVMGraphExecutor_Run(executor);
  if (status != 0) return status;
  for (size_t i = 0; i < projectapi_model_num_outputs; ++i) {
    memcpy(projectapi_model_output_data[i], outputs[i]->dl_tensor.data, output_nbytes[i]);
  }
  return 0;
}
