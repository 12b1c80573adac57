/*
 * RPC module around the graph executor (tvm.graph_executor.create). Function names and order
 * follow TVM's table, but every listed function is callable (TVM declares 8 of its 10):
 * get_num_inputs works, set_input copies, get_input accepts an index or a name, unknown names
 * and bad indices give an Exception. Index 10, run_profile, is an addition: an untimed warm-up
 * run, a whole run timed as one, then a run timed per node, returned as Bytes of num_nodes + 1
 * doubles: seconds per node (0 for non-operator nodes), then the seconds of the whole run.
 */
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/graph_executor.h>
#include <tvm/runtime/crt/graph_executor_module.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/module.h>
#include <tvm/runtime/crt/platform.h>

static TVMGraphExecutor* g_executor;

#define UNUSED_ARGS() \
  (void)args;         \
  (void)codes;        \
  (void)num_args;     \
  (void)ret;          \
  (void)ret_code;     \
  (void)res

static int NoExecutor(void) { return TVMAPIErrorf("the graph executor module was freed"); }

static int InputIndexArg(TVMValue* args, int* codes, int num_args, const char* fn, int* out) {
  if (num_args < 1) return TVMAPIErrorf("%s: missing input index or name", fn);
  if (codes[0] == kTVMArgInt) {
    if (args[0].v_int64 < 0 || args[0].v_int64 >= TVMGraphExecutor_GetNumInputs(g_executor)) {
      return TVMAPIErrorf("%s: input index %ld out of range (graph has %d inputs)", fn,
                          (long)args[0].v_int64, TVMGraphExecutor_GetNumInputs(g_executor));
    }
    *out = (int)args[0].v_int64;
    return 0;
  }
  if (codes[0] == kTVMStr) {
    *out = TVMGraphExecutor_GetInputIndex(g_executor, args[0].v_str);
    if (*out < 0) return TVMAPIErrorf("%s: no input named %s", fn, args[0].v_str);
    return 0;
  }
  return TVMAPIErrorf("%s: argument must be an input index or name", fn);
}

static int ReturnArray(TVMNDArray* arr, TVMValue* ret, int* ret_code) {
  TVMNDArray_IncrementReference(arr);
  ret->v_handle = arr;
  *ret_code = kTVMNDArrayHandle;
  return 0;
}

static int GetInput(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                    void* res) {
  int idx = 0;
  (void)res;
  if (!g_executor) return NoExecutor();
  if (InputIndexArg(args, codes, num_args, "get_input", &idx)) return -1;
  return ReturnArray(TVMGraphExecutor_GetInput(g_executor, idx), ret, ret_code);
}

static int GetInputIndex(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* res) {
  (void)res;
  if (!g_executor) return NoExecutor();
  if (num_args != 1 || codes[0] != kTVMStr) return TVMAPIErrorf("get_input_index: expects a name");
  ret->v_int64 = TVMGraphExecutor_GetInputIndex(g_executor, args[0].v_str);
  if (ret->v_int64 < 0) return TVMAPIErrorf("get_input_index: no input named %s", args[0].v_str);
  *ret_code = kTVMArgInt;
  return 0;
}

static int GetInputInfo(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                        void* res) {
  static char json[1024];
  static const char* const kNames[] = {"int", "uint", "float", "handle", "bfloat"};
  size_t pos = 0;
  int i, d, pass;
  UNUSED_ARGS();
  if (!g_executor) return NoExecutor();
#define APPEND(...)                                                                     \
  do {                                                                                  \
    int w_ = snprintf(json + pos, sizeof(json) - pos, __VA_ARGS__);                     \
    if (w_ < 0 || (size_t)w_ >= sizeof(json) - pos) {                                   \
      return TVMAPIErrorf("get_input_info: description longer than %d bytes",           \
                          (int)sizeof(json));                                           \
    }                                                                                   \
    pos += (size_t)w_;                                                                  \
  } while (0)
  for (pass = 0; pass < 2; pass++) {
    APPEND(pass == 0 ? "{\"shape\": {" : "}, \"dtype\": {");
    for (i = 0; i < TVMGraphExecutor_GetNumInputs(g_executor); i++) {
      const DLTensor* t = &TVMGraphExecutor_GetInput(g_executor, i)->dl_tensor;
      APPEND("%s\"%s\": ", i ? ", " : "", TVMGraphExecutor_GetInputName(g_executor, i));
      if (pass == 0) {
        APPEND("[");
        for (d = 0; d < t->ndim; d++) APPEND("%s%ld", d ? ", " : "", (long)t->shape[d]);
        APPEND("]");
      } else {
        APPEND("\"%s%u\"", t->dtype.code < 5 ? kNames[t->dtype.code] : "unknown",
               (unsigned)t->dtype.bits);
      }
    }
  }
  APPEND("}}");
#undef APPEND
  ret->v_str = json;
  *ret_code = kTVMStr;
  return 0;
}

static int GetNumInputs(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                        void* res) {
  UNUSED_ARGS();
  if (!g_executor) return NoExecutor();
  ret->v_int64 = TVMGraphExecutor_GetNumInputs(g_executor);
  *ret_code = kTVMArgInt;
  return 0;
}

static int GetNumOutputs(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* res) {
  UNUSED_ARGS();
  if (!g_executor) return NoExecutor();
  ret->v_int64 = TVMGraphExecutor_GetNumOutputs(g_executor);
  *ret_code = kTVMArgInt;
  return 0;
}

static int GetOutput(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                     void* res) {
  TVMNDArray* out;
  (void)res;
  if (!g_executor) return NoExecutor();
  if (num_args < 1 || num_args > 2 || codes[0] != kTVMArgInt) {
    return TVMAPIErrorf("get_output: expects (index) or (index, tensor)");
  }
  out = TVMGraphExecutor_GetOutput(g_executor, (int)args[0].v_int64);
  if (!out) {
    return TVMAPIErrorf("get_output: output index %ld out of range (graph has %d outputs)",
                        (long)args[0].v_int64, TVMGraphExecutor_GetNumOutputs(g_executor));
  }
  if (num_args == 2) {
    if (codes[1] != kTVMDLTensorHandle && codes[1] != kTVMNDArrayHandle) {
      return TVMAPIErrorf("get_output: second argument must be a tensor");
    }
    return TVMDeviceCopyDataFromTo(&out->dl_tensor, (DLTensor*)args[1].v_handle, NULL);
  }
  return ReturnArray(out, ret, ret_code);
}

static int LoadParams(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                      void* res) {
  const TVMByteArray* blob;
  (void)ret;
  (void)ret_code;
  (void)res;
  if (!g_executor) return NoExecutor();
  if (num_args != 1 || codes[0] != kTVMBytes) return TVMAPIErrorf("load_params: expects Bytes");
  blob = (const TVMByteArray*)args[0].v_handle;
  return TVMGraphExecutor_LoadParams(g_executor, blob->data, blob->size);
}

static int Run(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
               void* res) {
  UNUSED_ARGS();
  if (!g_executor) return NoExecutor();
  return TVMGraphExecutor_Run(g_executor);
}

static int SetInput(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                    void* res) {
  int idx = 0;
  (void)ret;
  (void)ret_code;
  (void)res;
  if (!g_executor) return NoExecutor();
  if (num_args != 2 || (codes[1] != kTVMDLTensorHandle && codes[1] != kTVMNDArrayHandle)) {
    return TVMAPIErrorf("set_input: expects (index or name, tensor)");
  }
  if (InputIndexArg(args, codes, num_args, "set_input", &idx)) return -1;
  return TVMGraphExecutor_SetInput(g_executor, idx, (const DLTensor*)args[1].v_handle);
}

static int ShareParams(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                       void* res) {
  UNUSED_ARGS();
  return TVMAPIErrorf("share_params: not supported on the device");
}

/* Times one whole run of the executor as one measurement. */
static int TimeRun(double* seconds) {
  if (TVMPlatformTimerStart() != kTvmErrorNoError) return TVMAPIErrorf("run_profile: timer busy");
  if (TVMGraphExecutor_Run(g_executor) != 0) {
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
  TVMByteArray* arr = NULL;
  double* times = NULL;
  size_t n;
  (void)args;
  (void)codes;
  (void)num_args;
  (void)res;
  if (!g_executor) return NoExecutor();
  n = (size_t)TVMGraphExecutor_GetNumNodes(g_executor);
  if (TVMPlatformMemoryAllocate(sizeof(*arr), kCPU, (void**)&arr) != kTvmErrorNoError ||
      TVMPlatformMemoryAllocate(sizeof(double) * (n + 1), kCPU, (void**)&times) !=
          kTvmErrorNoError) {
    if (arr) TVMPlatformMemoryFree(arr, kCPU);
    return TVMAPIErrorf("run_profile: out of memory");
  }
  /* Warm-up (untimed, as the time evaluator's), a whole run timed as one, then a run timed per
   * node: back to back, so both measurements see the same caches and the same machine load. */
  if (TVMGraphExecutor_Run(g_executor) != 0 || TimeRun(&times[n]) != 0 ||
      TVMGraphExecutor_RunProfile(g_executor, times) != 0) {
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

static const TVMBackendPackedCFunc kFuncs[] = {
    GetInput, GetInputIndex, GetInputInfo, GetNumInputs, GetNumOutputs, GetOutput,
    LoadParams, Run, SetInput, ShareParams, RunProfile,
};
static const TVMFuncRegistry kRegistry = {
    "\013\000get_input\000get_input_index\000get_input_info\000get_num_inputs\000"
    "get_num_outputs\000get_output\000load_params\000run\000set_input\000share_params\000"
    "run_profile\000",
    kFuncs};
static const TVMModule kModule = {&kRegistry};

static void OnModuleFree(const TVMModule* mod) {
  (void)mod;
  if (g_executor) {
    TVMGraphExecutor_Release(g_executor);
    g_executor = NULL;
  }
}

/* tvm.graph_executor.create(Str graph_json, Module mod, Int device_type, Int device_id) */
static int Create(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                  void* res) {
  TVMModuleHandle handle;
  TVMGraphExecutor* ex = NULL;
  DLDevice dev;
  int err;
  (void)res;
  if (g_executor) {
    return TVMAPIErrorf("tvm.graph_executor.create: a graph executor already exists; free it first");
  }
  if (num_args != 4) return TVMAPIErrorf("tvm.graph_executor.create: expected 4 arguments, got %d", num_args);
  if (codes[0] != kTVMStr || codes[1] != kTVMModuleHandle || codes[2] != kTVMArgInt ||
      codes[3] != kTVMArgInt) {
    return TVMAPIErrorf("tvm.graph_executor.create: expects (Str, Module, Int, Int)");
  }
  if (args[2].v_int64 != kDLCPU) {
    return TVMAPIErrorf("tvm.graph_executor.create: device type %ld is not a CPU", (long)args[2].v_int64);
  }
  if (TVMModuleFromHandle(args[1].v_handle) == NULL) return -1;
  dev.device_type = kDLCPU;
  dev.device_id = (int32_t)args[3].v_int64;
  err = TVMGraphExecutor_Create(args[0].v_str, strlen(args[0].v_str), args[1].v_handle, dev, &ex);
  if (err != 0) return err;
  err = TVMModCreateFromCModuleEx(&kModule, OnModuleFree, &handle);
  if (err != 0) {
    TVMGraphExecutor_Release(ex);
    return err;
  }
  g_executor = ex;
  ret->v_handle = handle;
  *ret_code = kTVMModuleHandle;
  return 0;
}

tvm_crt_error_t TVMGraphExecutorModule_Register(void) {
  return TVMFuncRegisterGlobal("tvm.graph_executor.create", Create, 0);
}
