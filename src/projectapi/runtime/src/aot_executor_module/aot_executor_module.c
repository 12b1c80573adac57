/*
 * RPC module around the AOT executor (tvm.aot_executor.create). The function table keeps TVM's
 * names and order (so function handles match), with its defects fixed: indices are
 * bounds-checked, unknown names give an error instead of aborting, set_input copies data,
 * get_input_info describes the inputs, and the executor can be created again after the host
 * frees the previous one.
 */
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/crt/aot_executor.h>
#include <tvm/runtime/crt/aot_executor_module.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/module.h>

static TVMAotExecutor* g_executor;

static int NoExecutor(void) { return TVMAPIErrorf("the AOT executor module was freed"); }

/* Input index from an Int index or a Str name argument. */
static int InputIndexArg(TVMValue* args, int* codes, int num_args, const char* fn, int* out) {
  if (num_args < 1) return TVMAPIErrorf("%s: missing input index or name", fn);
  if (codes[0] == kTVMArgInt) {
    if (args[0].v_int64 < 0 || args[0].v_int64 >= TVMAotExecutor_GetNumInputs(g_executor)) {
      return TVMAPIErrorf("%s: input index %ld out of range (model has %d inputs)", fn,
                          (long)args[0].v_int64, TVMAotExecutor_GetNumInputs(g_executor));
    }
    *out = (int)args[0].v_int64;
    return 0;
  }
  if (codes[0] == kTVMStr) {
    *out = TVMAotExecutor_GetInputIndex(g_executor, args[0].v_str);
    if (*out < 0) return TVMAPIErrorf("%s: no input named %s", fn, args[0].v_str);
    return 0;
  }
  return TVMAPIErrorf("%s: argument must be an input index or name (type code %d)", fn, codes[0]);
}

static int ReturnArray(TVMNDArray* arr, TVMValue* ret, int* ret_code) {
  TVMNDArray_IncrementReference(arr); /* released by the host's FreeHandle */
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
  return ReturnArray(TVMAotExecutor_GetInput(g_executor, idx), ret, ret_code);
}

static int GetInputIndex(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* res) {
  (void)res;
  if (!g_executor) return NoExecutor();
  if (num_args != 1 || codes[0] != kTVMStr) return TVMAPIErrorf("get_input_index: expects a name");
  ret->v_int64 = TVMAotExecutor_GetInputIndex(g_executor, args[0].v_str);
  if (ret->v_int64 < 0) return TVMAPIErrorf("get_input_index: no input named %s", args[0].v_str);
  *ret_code = kTVMArgInt;
  return 0;
}

static const char* DTypeName(DLDataType t, char* buf, size_t n) {
  static const char* const kNames[] = {"int", "uint", "float", "handle", "bfloat"};
  const char* base = t.code < 5 ? kNames[t.code] : "unknown";
  if (t.lanes > 1) {
    snprintf(buf, n, "%s%ux%u", base, (unsigned)t.bits, (unsigned)t.lanes);
  } else {
    snprintf(buf, n, "%s%u", base, (unsigned)t.bits);
  }
  return buf;
}

/* Str: {"shape": {"name": [dims]}, "dtype": {"name": "float32"}} for every input. */
static int GetInputInfo(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                        void* res) {
  static char json[512];
  size_t pos = 0;
  int i, d, pass;
  char dt[24];
  (void)args;
  (void)codes;
  (void)num_args;
  (void)res;
  if (!g_executor) return NoExecutor();
#define APPEND(...)                                                                   \
  do {                                                                                \
    int w_ = snprintf(json + pos, sizeof(json) - pos, __VA_ARGS__);                   \
    if (w_ < 0 || (size_t)w_ >= sizeof(json) - pos) {                                 \
      return TVMAPIErrorf("get_input_info: description longer than %d bytes",         \
                          (int)sizeof(json));                                         \
    }                                                                                 \
    pos += (size_t)w_;                                                                \
  } while (0)
  for (pass = 0; pass < 2; pass++) {
    APPEND(pass == 0 ? "{\"shape\": {" : "}, \"dtype\": {");
    for (i = 0; i < TVMAotExecutor_GetNumInputs(g_executor); i++) {
      const struct TVMTensorInfo* info = &g_executor->metadata->inputs[i];
      APPEND("%s\"%s\": ", i ? ", " : "", info->name);
      if (pass == 0) {
        APPEND("[");
        for (d = 0; d < info->num_shape; d++) APPEND("%s%ld", d ? ", " : "", (long)info->shape[d]);
        APPEND("]");
      } else {
        APPEND("\"%s\"", DTypeName(info->dtype, dt, sizeof(dt)));
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
  (void)args;
  (void)codes;
  (void)num_args;
  (void)res;
  if (!g_executor) return NoExecutor();
  ret->v_int64 = TVMAotExecutor_GetNumInputs(g_executor);
  *ret_code = kTVMArgInt;
  return 0;
}

static int GetNumOutputs(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* res) {
  (void)args;
  (void)codes;
  (void)num_args;
  (void)res;
  if (!g_executor) return NoExecutor();
  ret->v_int64 = TVMAotExecutor_GetNumOutputs(g_executor);
  *ret_code = kTVMArgInt;
  return 0;
}

/* get_output(index) returns the output array; get_output(index, tensor) copies into tensor. */
static int GetOutput(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                     void* res) {
  TVMNDArray* out;
  (void)res;
  if (!g_executor) return NoExecutor();
  if (num_args < 1 || num_args > 2 || codes[0] != kTVMArgInt) {
    return TVMAPIErrorf("get_output: expects (index) or (index, tensor)");
  }
  out = TVMAotExecutor_GetOutput(g_executor, (int)args[0].v_int64);
  if (out == NULL) {
    return TVMAPIErrorf("get_output: output index %ld out of range (model has %d outputs)",
                        (long)args[0].v_int64, TVMAotExecutor_GetNumOutputs(g_executor));
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
  (void)args;
  (void)codes;
  (void)num_args;
  (void)ret;
  (void)ret_code;
  (void)res;
  return TVMAPIErrorf("load_params: AOT models have their parameters linked in");
}

static int Run(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
               void* res) {
  (void)args;
  (void)codes;
  (void)num_args;
  (void)ret;
  (void)ret_code;
  (void)res;
  if (!g_executor) return NoExecutor();
  return TVMAotExecutor_Run(g_executor);
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
  return TVMAotExecutor_SetInput(g_executor, idx, (const DLTensor*)args[1].v_handle);
}

static int ShareParams(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                       void* res) {
  (void)args;
  (void)codes;
  (void)num_args;
  (void)ret;
  (void)ret_code;
  (void)res;
  return TVMAPIErrorf("share_params: not supported by the AOT executor");
}

static int GetInputName(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                        void* res) {
  (void)res;
  if (!g_executor) return NoExecutor();
  if (num_args != 1 || codes[0] != kTVMArgInt) return TVMAPIErrorf("get_input_name: expects an index");
  if (args[0].v_int64 < 0 || args[0].v_int64 >= TVMAotExecutor_GetNumInputs(g_executor)) {
    return TVMAPIErrorf("get_input_name: input index %ld out of range (model has %d inputs)",
                        (long)args[0].v_int64, TVMAotExecutor_GetNumInputs(g_executor));
  }
  ret->v_str = g_executor->metadata->inputs[args[0].v_int64].name;
  *ret_code = kTVMStr;
  return 0;
}

/* Same names and order as TVM's table (the order fixes the function handles). */
static const TVMBackendPackedCFunc kFuncs[] = {
    GetInput, GetInputIndex, GetInputInfo, GetNumInputs, GetNumOutputs, GetOutput,
    LoadParams, Run, SetInput, ShareParams, GetInputName,
};
static const TVMFuncRegistry kRegistry = {
    "\013\000get_input\000get_input_index\000get_input_info\000get_num_inputs\000"
    "get_num_outputs\000get_output\000load_params\000run\000set_input\000share_params\000"
    "get_input_name\000",
    kFuncs};
static const TVMModule kModule = {&kRegistry};

static void OnModuleFree(const TVMModule* mod) {
  (void)mod;
  if (g_executor) {
    TVMAotExecutor_Release(g_executor);
    g_executor = NULL;
  }
}

/* tvm.aot_executor.create(Module mod, Device dev, Str model_name) -> Module */
static int Create(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                  void* res) {
  TVMModuleHandle handle;
  TVMAotExecutor* ex = NULL;
  int err;
  (void)res;
  if (g_executor) {
    return TVMAPIErrorf("tvm.aot_executor.create: an AOT executor already exists; free it first");
  }
  if (num_args != 3) return TVMAPIErrorf("tvm.aot_executor.create: expected 3 arguments, got %d", num_args);
  if (codes[0] != kTVMModuleHandle || codes[1] != kDLDevice || codes[2] != kTVMStr) {
    return TVMAPIErrorf("tvm.aot_executor.create: expects (Module, Device, Str)");
  }
  if (args[1].v_device.device_type != kDLCPU) {
    return TVMAPIErrorf("tvm.aot_executor.create: device type %d is not a CPU",
                        (int)args[1].v_device.device_type);
  }
  if (TVMModuleFromHandle(args[0].v_handle) == NULL) return -1;
  err = TVMAotExecutor_Create(args[0].v_handle, args[1].v_device, args[2].v_str, &ex);
  if (err != 0) return err;
  err = TVMModCreateFromCModuleEx(&kModule, OnModuleFree, &handle);
  if (err != 0) {
    TVMAotExecutor_Release(ex);
    return err;
  }
  g_executor = ex;
  ret->v_handle = handle;
  *ret_code = kTVMModuleHandle;
  return 0;
}

tvm_crt_error_t TVMAotExecutorModule_Register(void) {
  return TVMFuncRegisterGlobal("tvm.aot_executor.create", Create, 0);
}
