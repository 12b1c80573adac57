/*
 * libFuzzer harness: the graph executor's JSON reader, storage planning and operator binding.
 * The input is a graph JSON text; operators are looked up in a module with one function, "op",
 * that does nothing, so valid graphs also run.
 */
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/graph_executor.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/module.h>
#include <tvm/runtime/crt/platform.h>

static int NoOp(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                void* res) {
  TVM_CRT_UNUSED_PACKED_ARGS();
  return 0;
}

static const TVMBackendPackedCFunc kFuncs[] = {NoOp};
static const TVMFuncRegistry kRegistry = {"\001\000op\000", kFuncs};
static const TVMModule kModule = {&kRegistry};

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static TVMModuleHandle mod;
  TVMGraphExecutor* ex = NULL;
  DLDevice cpu = {kDLCPU, 0};
  if (mod == NULL) {
    TVMPlatformInitialize();
    TVMInitializeRuntime();
    if (TVMModCreateFromCModule(&kModule, &mod) != 0) return 0;
  }
  if (TVMGraphExecutor_Create((const char*)data, size, mod, cpu, &ex) == 0) {
    TVMGraphExecutor_Run(ex);
    TVMGraphExecutor_Release(ex);
  }
  return 0;
}
