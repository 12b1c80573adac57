/*
 * AOT executor. Differences from TVM's: a missing metadata getter or run function fails the
 * creation with a message (TVM continues with a NULL metadata pointer); workspace-pool arguments
 * are initialised (shape from the metadata, no data: the generated entry uses its own static
 * pools); a model error is returned to the caller instead of aborting the device.
 */
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/crt/aot_executor.h>
#include <tvm/runtime/crt/internal/config.h>
#include <tvm/runtime/crt/platform.h>

static const DLDevice kCPU = {kDLCPU, 0};

/* Type codes handed to the run function. The generated main reads one more entry than the
 * executor passes (the constant pool), so keep spare readable entries. */
#define TVM_AOT_TYPE_CODES (TVM_CRT_MAX_ARGS + 2)

int TVMAotExecutor_Create(TVMModuleHandle module_handle, DLDevice device,
                          const char* module_name, TVMAotExecutor** out) {
  char name[TVM_CRT_MAX_STRLEN_FUNCTION_NAME];
  TVMFunctionHandle getter = NULL;
  TVMFunctionHandle run = NULL;
  TVMValue ret;
  int ret_code = kTVMNullptr;
  const struct TVMMetadata* md;
  TVMAotExecutor* ex = NULL;
  size_t i, n;
  int written;

  written = snprintf(name, sizeof(name), "tvmgen_%s_get_c_metadata", module_name);
  if (written < 0 || (size_t)written >= sizeof(name)) {
    return TVMAPIErrorf("model name too long: %s", module_name);
  }
  if (TVMModGetFunction(module_handle, name, 0, &getter) != 0) {
    return TVMAPIErrorf("AOT executor: module has no %s (is '%s' the model name, built with "
                        "the packed interface and a system library?)", name, module_name);
  }
  if (TVMFuncCall(getter, NULL, NULL, 0, &ret, &ret_code) != 0 || ret.v_handle == NULL) {
    return TVMAPIErrorf("AOT executor: %s failed", name);
  }
  md = (const struct TVMMetadata*)ret.v_handle;
  if (md->num_inputs < 0 || md->num_outputs < 0 || md->num_workspace_pools < 0) {
    return TVMAPIErrorf("AOT executor: corrupt metadata");
  }
  n = (size_t)(md->num_inputs + md->num_outputs + md->num_workspace_pools);
  if (n > TVM_CRT_MAX_ARGS) {
    return TVMAPIErrorf("AOT executor: model needs %lu arguments, TVM_CRT_MAX_ARGS is %d",
                        (unsigned long)n, TVM_CRT_MAX_ARGS);
  }
  written = snprintf(name, sizeof(name), "%s_run", md->mod_name);
  if (written < 0 || (size_t)written >= sizeof(name) ||
      TVMModGetFunction(module_handle, name, 0, &run) != 0) {
    return TVMAPIErrorf("AOT executor: module has no %s_run", md->mod_name);
  }
  if (TVMPlatformMemoryAllocate(sizeof(TVMAotExecutor), kCPU, (void**)&ex) != kTvmErrorNoError) {
    return TVMAPIErrorf("AOT executor: out of memory");
  }
  memset(ex, 0, sizeof(*ex));
  ex->metadata = md;
  ex->device = device;
  ex->module_handle = module_handle;
  ex->run_func = run;
  if (TVMPlatformMemoryAllocate(sizeof(TVMNDArray*) * (n ? n : 1), kCPU, (void**)&ex->args) !=
      kTvmErrorNoError) {
    TVMPlatformMemoryFree(ex, kCPU);
    return TVMAPIErrorf("AOT executor: out of memory");
  }
  memset(ex->args, 0, sizeof(TVMNDArray*) * (n ? n : 1));
  for (i = 0; i < n; i++) {
    const struct TVMTensorInfo* info;
    int err;
    if (i < (size_t)md->num_inputs) {
      info = &md->inputs[i];
    } else if (i < (size_t)(md->num_inputs + md->num_outputs)) {
      info = &md->outputs[i - (size_t)md->num_inputs];
    } else {
      info = &md->workspace_pools[i - (size_t)(md->num_inputs + md->num_outputs)];
    }
    if (i < (size_t)(md->num_inputs + md->num_outputs)) {
      err = TVMNDArray_Create((int32_t)info->num_shape, info->shape, info->dtype, device,
                              &ex->args[i]);
    } else {
      err = TVMNDArray_CreateView((int32_t)info->num_shape, info->shape, info->dtype, device,
                                  NULL, &ex->args[i]);
    }
    if (err != 0) {
      ex->num_args = i;
      TVMAotExecutor_Release(ex);
      return err;
    }
  }
  ex->num_args = n;
  *out = ex;
  return 0;
}

int TVMAotExecutor_Release(TVMAotExecutor* ex) {
  size_t i;
  for (i = 0; i < ex->num_args; i++) {
    if (ex->args[i]) TVMNDArray_Release(ex->args[i]); /* host references keep arrays alive */
  }
  TVMPlatformMemoryFree(ex->args, kCPU);
  TVMPlatformMemoryFree(ex, kCPU);
  return 0;
}

int TVMAotExecutor_GetNumInputs(const TVMAotExecutor* ex) { return (int)ex->metadata->num_inputs; }

int TVMAotExecutor_GetNumOutputs(const TVMAotExecutor* ex) {
  return (int)ex->metadata->num_outputs;
}

int TVMAotExecutor_GetInputIndex(const TVMAotExecutor* ex, const char* name) {
  int64_t i;
  for (i = 0; i < ex->metadata->num_inputs; i++) {
    if (strcmp(ex->metadata->inputs[i].name, name) == 0) return (int)i;
  }
  return -1;
}

const char* TVMAotExecutor_GetInputName(const TVMAotExecutor* ex, int index) {
  if (index < 0 || index >= ex->metadata->num_inputs) return NULL;
  return ex->metadata->inputs[index].name;
}

TVMNDArray* TVMAotExecutor_GetInput(const TVMAotExecutor* ex, int index) {
  if (index < 0 || index >= ex->metadata->num_inputs) return NULL;
  return ex->args[index];
}

TVMNDArray* TVMAotExecutor_GetOutput(const TVMAotExecutor* ex, int index) {
  if (index < 0 || index >= ex->metadata->num_outputs) return NULL;
  return ex->args[ex->metadata->num_inputs + index];
}

int TVMAotExecutor_SetInput(TVMAotExecutor* ex, int index, const DLTensor* tensor) {
  TVMNDArray* in = TVMAotExecutor_GetInput(ex, index);
  int64_t want, got;
  if (in == NULL) return TVMAPIErrorf("set_input: no input %d", index);
  want = TVMNDArray_DataSizeBytes(&in->dl_tensor);
  got = TVMNDArray_DataSizeBytes(tensor);
  if (want != got) {
    return TVMAPIErrorf("set_input: input %d has %ld bytes, the tensor given has %ld", index,
                        (long)want, (long)got);
  }
  memcpy(in->dl_tensor.data, (const char*)tensor->data + tensor->byte_offset, (size_t)want);
  return 0;
}

int TVMAotExecutor_Run(TVMAotExecutor* ex) {
  TVMValue values[TVM_AOT_TYPE_CODES];
  int codes[TVM_AOT_TYPE_CODES];
  TVMValue ret;
  int ret_code;
  size_t i;
  int rc;
  for (i = 0; i < TVM_AOT_TYPE_CODES; i++) {
    values[i].v_handle = i < ex->num_args ? &ex->args[i]->dl_tensor : NULL;
    codes[i] = kTVMDLTensorHandle;
  }
  rc = TVMFuncCall(ex->run_func, values, codes, (int)ex->num_args, &ret, &ret_code);
  if (rc != 0) return TVMAPIErrorf("model %s_run failed with %d", ex->metadata->mod_name, rc);
  return 0;
}
