/* The shell shared by the executors' RPC modules (internal/executor_module.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/internal/executor_module.h>

/* Longest get_input_info reply (a static buffer: the reply is sent before the next call). */
#define INPUT_INFO_BYTES 1024

void* TVMExecutorModule_Executor(void* res) {
  const TVMExecutorModule* m = (const TVMExecutorModule*)res;
  if (m->executor == NULL) TVMAPIErrorf("the %s module was freed", m->ops->name);
  return m->executor;
}

/* Input index from an Int index or a Str name argument. */
static int InputIndexArg(const TVMExecutorModule* m, TVMValue* args, int* codes, int num_args,
                         const char* fn, int* out) {
  int count = m->ops->num_inputs(m->executor);
  if (num_args < 1) return TVMAPIErrorf("%s: missing input index or name", fn);
  if (codes[0] == kTVMArgInt) {
    if (args[0].v_int64 < 0 || args[0].v_int64 >= count) {
      return TVMAPIErrorf("%s: input index %ld out of range (%s has %d inputs)", fn,
                          (long)args[0].v_int64, m->ops->owner, count);
    }
    *out = (int)args[0].v_int64;
    return 0;
  }
  if (codes[0] == kTVMStr) {
    *out = m->ops->input_index(m->executor, args[0].v_str);
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

static int ReturnInt(int value, TVMValue* ret, int* ret_code) {
  ret->v_int64 = value;
  *ret_code = kTVMArgInt;
  return 0;
}

int TVMExecutorModule_GetInput(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                               int* ret_code, void* res) {
  const TVMExecutorModule* m = (const TVMExecutorModule*)res;
  int idx = 0;
  if (!TVMExecutorModule_Executor(res)) return -1;
  if (InputIndexArg(m, args, codes, num_args, "get_input", &idx)) return -1;
  return ReturnArray(m->ops->input(m->executor, idx), ret, ret_code);
}

int TVMExecutorModule_GetInputIndex(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                    int* ret_code, void* res) {
  const TVMExecutorModule* m = (const TVMExecutorModule*)res;
  int idx;
  if (!TVMExecutorModule_Executor(res)) return -1;
  if (num_args != 1 || codes[0] != kTVMStr) return TVMAPIErrorf("get_input_index: expects a name");
  idx = m->ops->input_index(m->executor, args[0].v_str);
  if (idx < 0) return TVMAPIErrorf("get_input_index: no input named %s", args[0].v_str);
  return ReturnInt(idx, ret, ret_code);
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

/* Appends `text` to json[*pos..n) as a JSON string: quotes, backslashes and control bytes escaped
 * (UTF-8 passes through), so any input name gives valid JSON. Returns -1 when it does not fit. */
static int AppendJsonString(char* json, size_t n, size_t* pos, const char* text) {
  static const char kHex[] = "0123456789abcdef";
  const unsigned char* c;
  if (*pos + 1 >= n) return -1;
  json[(*pos)++] = '"';
  for (c = (const unsigned char*)text; *c; c++) {
    if (*c == '"' || *c == '\\') {
      if (*pos + 2 >= n) return -1;
      json[(*pos)++] = '\\';
      json[(*pos)++] = (char)*c;
    } else if (*c < 0x20) {
      if (*pos + 6 >= n) return -1;
      memcpy(json + *pos, "\\u00", 4);
      json[*pos + 4] = kHex[*c >> 4];
      json[*pos + 5] = kHex[*c & 15];
      *pos += 6;
    } else {
      if (*pos + 1 >= n) return -1;
      json[(*pos)++] = (char)*c;
    }
  }
  if (*pos + 1 >= n) return -1;
  json[(*pos)++] = '"';
  json[*pos] = '\0';
  return 0;
}

/* Str: {"shape": {"name": [dims]}, "dtype": {"name": "float32"}} for every input. */
int TVMExecutorModule_GetInputInfo(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                   int* ret_code, void* res) {
  static char json[INPUT_INFO_BYTES];
  const TVMExecutorModule* m = (const TVMExecutorModule*)res;
  size_t pos = 0;
  int i, d, pass;
  char dt[24];
  (void)args;
  (void)codes;
  (void)num_args;
  if (!TVMExecutorModule_Executor(res)) return -1;
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
    for (i = 0; i < m->ops->num_inputs(m->executor); i++) {
      const DLTensor* t = &m->ops->input(m->executor, i)->dl_tensor;
      if (i) APPEND(", ");
      if (AppendJsonString(json, sizeof(json), &pos, m->ops->input_name(m->executor, i))) {
        return TVMAPIErrorf("get_input_info: description longer than %d bytes", (int)sizeof(json));
      }
      APPEND(": ");
      if (pass == 0) {
        APPEND("[");
        for (d = 0; d < t->ndim; d++) APPEND("%s%ld", d ? ", " : "", (long)t->shape[d]);
        APPEND("]");
      } else {
        APPEND("\"%s\"", DTypeName(t->dtype, dt, sizeof(dt)));
      }
    }
  }
  APPEND("}}");
#undef APPEND
  ret->v_str = json;
  *ret_code = kTVMStr;
  return 0;
}

/* get_num_inputs, get_num_outputs. */
static int ReturnCount(void* res, int outputs, TVMValue* ret, int* ret_code) {
  const TVMExecutorModule* m = (const TVMExecutorModule*)res;
  if (!TVMExecutorModule_Executor(res)) return -1;
  return ReturnInt(outputs ? m->ops->num_outputs(m->executor) : m->ops->num_inputs(m->executor),
                   ret, ret_code);
}

int TVMExecutorModule_GetNumInputs(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                   int* ret_code, void* res) {
  (void)args;
  (void)codes;
  (void)num_args;
  return ReturnCount(res, 0, ret, ret_code);
}

int TVMExecutorModule_GetNumOutputs(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                    int* ret_code, void* res) {
  (void)args;
  (void)codes;
  (void)num_args;
  return ReturnCount(res, 1, ret, ret_code);
}

/* get_output(index) returns the output array; get_output(index, tensor) copies into tensor. */
int TVMExecutorModule_GetOutput(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                int* ret_code, void* res) {
  const TVMExecutorModule* m = (const TVMExecutorModule*)res;
  TVMNDArray* out;
  if (!TVMExecutorModule_Executor(res)) return -1;
  if (num_args < 1 || num_args > 2 || codes[0] != kTVMArgInt) {
    return TVMAPIErrorf("get_output: expects (index) or (index, tensor)");
  }
  out = m->ops->output(m->executor, (int)args[0].v_int64);
  if (out == NULL) {
    return TVMAPIErrorf("get_output: output index %ld out of range (%s has %d outputs)",
                        (long)args[0].v_int64, m->ops->owner, m->ops->num_outputs(m->executor));
  }
  if (num_args == 2) {
    if (codes[1] != kTVMDLTensorHandle && codes[1] != kTVMNDArrayHandle) {
      return TVMAPIErrorf("get_output: second argument must be a tensor");
    }
    return TVMDeviceCopyDataFromTo(&out->dl_tensor, (DLTensor*)args[1].v_handle, NULL);
  }
  return ReturnArray(out, ret, ret_code);
}

int TVMExecutorModule_SetInput(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                               int* ret_code, void* res) {
  const TVMExecutorModule* m = (const TVMExecutorModule*)res;
  int idx = 0;
  (void)ret;
  (void)ret_code;
  if (!TVMExecutorModule_Executor(res)) return -1;
  if (num_args != 2 || (codes[1] != kTVMDLTensorHandle && codes[1] != kTVMNDArrayHandle)) {
    return TVMAPIErrorf("set_input: expects (index or name, tensor)");
  }
  if (InputIndexArg(m, args, codes, num_args, "set_input", &idx)) return -1;
  return m->ops->set_input(m->executor, idx, (const DLTensor*)args[1].v_handle);
}

int TVMExecutorModule_Run(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                          void* res) {
  const TVMExecutorModule* m = (const TVMExecutorModule*)res;
  TVM_CRT_UNUSED_PACKED_ARGS();
  if (!TVMExecutorModule_Executor(res)) return -1;
  return m->ops->run(m->executor);
}

int TVMExecutorModule_ShareParams(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                  int* ret_code, void* res) {
  const TVMExecutorModule* m = (const TVMExecutorModule*)res;
  TVM_CRT_UNUSED_PACKED_ARGS();
  return TVMAPIErrorf("share_params: not supported by the %s", m->ops->name);
}

int TVMExecutorModule_CheckCreate(const TVMExecutorModule* m, const char* fn, int num_args,
                                  int expected) {
  if (m->executor) {
    return TVMAPIErrorf("%s: the %s already exists; free it first", fn, m->ops->name);
  }
  if (num_args != expected) {
    return TVMAPIErrorf("%s: expected %d arguments, got %d", fn, expected, num_args);
  }
  return 0;
}

/* The module's free hook: the module is the `module` member of a TVMExecutorModule. */
static void OnModuleFree(const TVMModule* mod) {
  TVMExecutorModule* m = (TVMExecutorModule*)((char*)mod - offsetof(TVMExecutorModule, module));
  if (m->executor) {
    m->ops->release(m->executor);
    m->executor = NULL;
  }
}

int TVMExecutorModule_Publish(TVMExecutorModule* m, void* executor, TVMValue* ret, int* ret_code) {
  TVMModuleHandle handle;
  int err = TVMModCreateFromCModuleEx(&m->module, OnModuleFree, &handle);
  if (err != 0) {
    m->ops->release(executor);
    return err;
  }
  m->executor = executor;
  ret->v_handle = handle;
  *ret_code = kTVMModuleHandle;
  return 0;
}
