/* Functions generated operator code calls: workspaces, serial parallel launch. */
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/platform.h>

void* TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint) {
  DLDevice dev;
  void* ptr = NULL;
  tvm_crt_error_t err;
  (void)dtype_code_hint;
  (void)dtype_bits_hint;
  dev.device_type = (DLDeviceType)device_type;
  dev.device_id = device_id;
  if (nbytes > (uint64_t)(size_t)-1) {
    TVMAPIErrorf("workspace of %lu bytes is too large", (unsigned long)nbytes);
    return NULL;
  }
  err = TVMPlatformMemoryAllocate((size_t)nbytes, dev, &ptr);
  if (err != kTvmErrorNoError) {
    /* Generated code checks for NULL and fails the operator with -1. */
    TVMAPIErrorf("TVMBackendAllocWorkspace: cannot allocate %lu bytes (error 0x%x)",
                 (unsigned long)nbytes, (unsigned)err);
    return NULL;
  }
  return ptr;
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void* ptr) {
  DLDevice dev;
  tvm_crt_error_t err;
  dev.device_type = (DLDeviceType)device_type;
  dev.device_id = device_id;
  err = TVMPlatformMemoryFree(ptr, dev);
  if (err != kTvmErrorNoError) {
    return TVMAPIErrorf("TVMBackendFreeWorkspace: free failed (error 0x%x)", (unsigned)err);
  }
  return 0;
}

int TVMBackendParallelLaunch(FTVMParallelLambda flambda, void* cdata, int num_task) {
  TVMParallelGroupEnv env;
  (void)num_task;
  /* One thread: run the whole range as task 0 of 1. */
  env.sync_handle = NULL;
  env.num_task = 1;
  return flambda(0, &env, cdata);
}

int TVMBackendParallelBarrier(int task_id, TVMParallelGroupEnv* penv) {
  (void)task_id;
  (void)penv;
  return 0; /* a single task never waits */
}

int TVMBackendRunOnce(void** handle, int (*f)(void*), void* cdata, int nbytes) {
  (void)nbytes;
  if (*handle == NULL) {
    *handle = (void*)1;
    return f(cdata);
  }
  return 0;
}

int TVMBackendGetFuncFromEnv(void* mod_node, const char* func_name, TVMFunctionHandle* out) {
  (void)mod_node;
  return TVMFuncGetGlobal(func_name, out);
}

int TVMBackendRegisterSystemLibSymbol(const char* name, void* ptr) {
  (void)name;
  (void)ptr;
  return TVMAPIErrorf("TVMBackendRegisterSystemLibSymbol is not supported: "
                      "use a generated TVMSystemLibEntryPoint");
}
