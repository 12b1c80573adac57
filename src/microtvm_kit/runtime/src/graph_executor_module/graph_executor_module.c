/*
 * RPC module around the graph executor (tvm.graph_executor.create). Function names and order
 * follow TVM's table, but every listed function is callable (TVM declares 8 of its 10):
 * get_num_inputs works, set_input copies, get_input accepts an index or a name, unknown names
 * and bad indices give an Exception. Index 10, run_profile, is an addition: an untimed warm-up
 * run, a whole run timed as one, then a run timed per node, returned as Bytes of num_nodes + 1
 * doubles: seconds per node (0 for non-operator nodes), then the seconds of the whole run.
 */
#include <string.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/graph_executor.h>
#include <tvm/runtime/crt/graph_executor_module.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/internal/executor_module.h>
#include <tvm/runtime/crt/platform.h>

TVM_CRT_DEFINE_EXECUTOR_OPS(kOps, "graph executor", "graph", TVMGraphExecutor);

static int LoadParams(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                      void* res) {
  TVMGraphExecutor* ex = (TVMGraphExecutor*)TVMExecutorModule_Executor(res);
  const TVMByteArray* blob;
  (void)ret;
  (void)ret_code;
  if (!ex) return -1;
  if (num_args != 1 || codes[0] != kTVMBytes) return TVMAPIErrorf("load_params: expects Bytes");
  blob = (const TVMByteArray*)args[0].v_handle;
  return TVMGraphExecutor_LoadParams(ex, blob->data, blob->size);
}

/* Times one whole run of the executor as one measurement. */
static int TimeRun(TVMGraphExecutor* ex, double* seconds) {
  if (TVMPlatformTimerStart() != kTvmErrorNoError) return TVMAPIErrorf("run_profile: timer busy");
  if (TVMGraphExecutor_Run(ex) != 0) {
    TVMPlatformTimerStop(seconds);
    return -1;
  }
  if (TVMPlatformTimerStop(seconds) != kTvmErrorNoError) {
    return TVMAPIErrorf("run_profile: timer failure");
  }
  return 0;
}

static int RunProfile(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                      void* res) {
  static const DLDevice kCPU = {kDLCPU, 0};
  TVMGraphExecutor* ex = (TVMGraphExecutor*)TVMExecutorModule_Executor(res);
  TVMByteArray* arr = NULL;
  double* times = NULL;
  size_t n;
  (void)args;
  (void)codes;
  (void)num_args;
  if (!ex) return -1;
  n = (size_t)TVMGraphExecutor_GetNumNodes(ex);
  if (TVMPlatformMemoryAllocate(sizeof(*arr), kCPU, (void**)&arr) != kTvmErrorNoError ||
      TVMPlatformMemoryAllocate(sizeof(double) * (n + 1), kCPU, (void**)&times) !=
          kTvmErrorNoError) {
    if (arr) TVMPlatformMemoryFree(arr, kCPU);
    return TVMAPIErrorf("run_profile: out of memory");
  }
  /* Warm-up (untimed, as the time evaluator's), a whole run timed as one, then a run timed per
   * node: back to back, so both measurements see the same caches and the same machine load. */
  if (TVMGraphExecutor_Run(ex) != 0 || TimeRun(ex, &times[n]) != 0 ||
      TVMGraphExecutor_RunProfile(ex, times) != 0) {
    TVMPlatformMemoryFree(times, kCPU);
    TVMPlatformMemoryFree(arr, kCPU);
    return -1;
  }
  arr->data = (const char*)times;
  arr->size = sizeof(double) * (n + 1);
  ret->v_handle = arr; /* freed by the RPC server after sending */
  *ret_code = kTVMBytes;
  return 0;
}

/* TVM's names and order, then run_profile. */
static const TVMBackendPackedCFunc kFuncs[] = {
    TVMExecutorModule_GetInput,      TVMExecutorModule_GetInputIndex,
    TVMExecutorModule_GetInputInfo,  TVMExecutorModule_GetNumInputs,
    TVMExecutorModule_GetNumOutputs, TVMExecutorModule_GetOutput,
    LoadParams,                      TVMExecutorModule_Run,
    TVMExecutorModule_SetInput,      TVMExecutorModule_ShareParams,
    RunProfile,
};
static TVMExecutorModule g_module = {
    {"\013\000get_input\000get_input_index\000get_input_info\000get_num_inputs\000"
     "get_num_outputs\000get_output\000load_params\000run\000set_input\000share_params\000"
     "run_profile\000",
     kFuncs},
    {&g_module.registry},
    &kOps,
    NULL};

/* tvm.graph_executor.create(Str graph_json, Module mod, Int device_type, Int device_id) */
static int Create(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                  void* res) {
  static const char kFn[] = "tvm.graph_executor.create";
  TVMGraphExecutor* ex = NULL;
  DLDevice dev;
  int err;
  (void)res;
  if (TVMExecutorModule_CheckCreate(&g_module, kFn, num_args, 4)) return -1;
  if (codes[0] != kTVMStr || codes[1] != kTVMModuleHandle || codes[2] != kTVMArgInt ||
      codes[3] != kTVMArgInt) {
    return TVMAPIErrorf("%s: expects (Str, Module, Int, Int)", kFn);
  }
  if (args[2].v_int64 != kDLCPU) {
    return TVMAPIErrorf("%s: device type %ld is not a CPU", kFn, (long)args[2].v_int64);
  }
  if (TVMModuleFromHandle(args[1].v_handle) == NULL) return -1;
  dev.device_type = kDLCPU;
  dev.device_id = (int32_t)args[3].v_int64;
  err = TVMGraphExecutor_Create(args[0].v_str, strlen(args[0].v_str), args[1].v_handle, dev, &ex);
  if (err != 0) return err;
  return TVMExecutorModule_Publish(&g_module, ex, ret, ret_code);
}

tvm_crt_error_t TVMGraphExecutorModule_Register(void) {
  return TVMFuncRegisterGlobal("tvm.graph_executor.create", Create, 0);
}
