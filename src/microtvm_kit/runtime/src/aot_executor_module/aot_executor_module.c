/*
 * RPC module around the AOT executor (tvm.aot_executor.create). The function table keeps TVM's
 * names and order (so function handles match), with its defects fixed: indices are
 * bounds-checked, unknown names give an error instead of aborting, set_input copies data,
 * get_input_info describes the inputs, and the executor can be created again after the host
 * frees the previous one. The functions it shares with the graph executor's module are in
 * src/common/executor_module.c.
 */
#include <tvm/runtime/crt/aot_executor.h>
#include <tvm/runtime/crt/aot_executor_module.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/internal/executor_module.h>

TVM_CRT_DEFINE_EXECUTOR_OPS(kOps, "AOT executor", "model", TVMAotExecutor);

static int LoadParams(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                      void* res) {
  TVM_CRT_UNUSED_PACKED_ARGS();
  return TVMAPIErrorf("load_params: AOT models have their parameters linked in");
}

static int GetInputName(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                        void* res) {
  const TVMAotExecutor* ex = (const TVMAotExecutor*)TVMExecutorModule_Executor(res);
  if (!ex) return -1;
  if (num_args != 1 || codes[0] != kTVMArgInt) {
    return TVMAPIErrorf("get_input_name: expects an index");
  }
  if (args[0].v_int64 < 0 || args[0].v_int64 >= TVMAotExecutor_GetNumInputs(ex)) {
    return TVMAPIErrorf("get_input_name: input index %ld out of range (model has %d inputs)",
                        (long)args[0].v_int64, TVMAotExecutor_GetNumInputs(ex));
  }
  ret->v_str = TVMAotExecutor_GetInputName(ex, (int)args[0].v_int64);
  *ret_code = kTVMStr;
  return 0;
}

/* Same names and order as TVM's table (the order fixes the function handles). */
static const TVMBackendPackedCFunc kFuncs[] = {
    TVMExecutorModule_GetInput,     TVMExecutorModule_GetInputIndex,
    TVMExecutorModule_GetInputInfo, TVMExecutorModule_GetNumInputs,
    TVMExecutorModule_GetNumOutputs, TVMExecutorModule_GetOutput,
    LoadParams,                     TVMExecutorModule_Run,
    TVMExecutorModule_SetInput,     TVMExecutorModule_ShareParams,
    GetInputName,
};
static TVMExecutorModule g_module = {
    {"\013\000get_input\000get_input_index\000get_input_info\000get_num_inputs\000"
     "get_num_outputs\000get_output\000load_params\000run\000set_input\000share_params\000"
     "get_input_name\000",
     kFuncs},
    {&g_module.registry},
    &kOps,
    NULL};

/* tvm.aot_executor.create(Module mod, Device dev, Str model_name) -> Module */
static int Create(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                  void* res) {
  static const char kFn[] = "tvm.aot_executor.create";
  TVMAotExecutor* ex = NULL;
  int err;
  (void)res;
  if (TVMExecutorModule_CheckCreate(&g_module, kFn, num_args, 3)) return -1;
  if (codes[0] != kTVMModuleHandle || codes[1] != kDLDevice || codes[2] != kTVMStr) {
    return TVMAPIErrorf("%s: expects (Module, Device, Str)", kFn);
  }
  if (args[1].v_device.device_type != kDLCPU) {
    return TVMAPIErrorf("%s: device type %d is not a CPU", kFn, (int)args[1].v_device.device_type);
  }
  if (TVMModuleFromHandle(args[0].v_handle) == NULL) return -1;
  err = TVMAotExecutor_Create(args[0].v_handle, args[1].v_device, args[2].v_str, &ex);
  if (err != 0) return err;
  return TVMExecutorModule_Publish(&g_module, ex, ret, ret_code);
}

tvm_crt_error_t TVMAotExecutorModule_Register(void) {
  return TVMFuncRegisterGlobal("tvm.aot_executor.create", Create, 0);
}
