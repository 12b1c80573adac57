/*
 * Feeds graph JSON files to TVMGraphExecutor_Create, one line per file on stdout:
 *   graph_json_check FILE...   ->   "ok NAME,NAME,..." (node names) or "error MESSAGE"
 *   graph_json_check --input-info FILE...   ->   "info JSON" (the executor module's
 *   get_input_info reply) or "error MESSAGE"
 * Operators resolve to "op", a function that does nothing, so valid graphs are also run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/graph_executor.h>
#include <tvm/runtime/crt/graph_executor_module.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/module.h>
#include <tvm/runtime/crt/platform.h>

static int DoNothing(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                     void* res) {
  TVM_CRT_UNUSED_PACKED_ARGS();
  return 0;
}

static const TVMBackendPackedCFunc kFuncs[] = {DoNothing};
static const TVMFuncRegistry kRegistry = {"\001\000op\000", kFuncs};
static const TVMModule kModule = {&kRegistry};

/* The whole file in a buffer of exactly its size, so reads past the text are caught. */
static char* ReadFile(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  char* buf = NULL;
  long n;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    buf = (char*)malloc(n ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    }
    *len = (size_t)n;
  }
  fclose(f);
  return buf;
}

static void Check(TVMModuleHandle mod, const char* text, size_t len) {
  DLDevice cpu = {kDLCPU, 0};
  TVMGraphExecutor* ex = NULL;
  int i;
  if (TVMGraphExecutor_Create(text, len, mod, cpu, &ex) != 0) {
    printf("error %s\n", TVMGetLastError());
    return;
  }
  printf("ok ");
  for (i = 0; i < TVMGraphExecutor_GetNumNodes(ex); i++) {
    printf("%s%s", i ? "," : "", TVMGraphExecutor_GetNodeName(ex, i));
  }
  printf("\n");
  if (TVMGraphExecutor_Run(ex) != 0) printf("run failed: %s\n", TVMGetLastError());
  TVMGraphExecutor_Release(ex);
}

/* Creates the executor module as the host would (tvm.graph_executor.create), prints its
 * get_input_info reply. */
static void InputInfo(TVMModuleHandle mod, const char* text, size_t len) {
  TVMFunctionHandle create = NULL, info = NULL;
  char* str = (char*)malloc(len + 1); /* a Str argument ends with a NUL */
  TVMValue args[4], ret;
  int codes[4] = {kTVMStr, kTVMModuleHandle, kTVMArgInt, kTVMArgInt}, ret_code = 0;
  if (!str) return;
  memcpy(str, text, len);
  str[len] = '\0';
  args[0].v_str = str;
  args[1].v_handle = mod;
  args[2].v_int64 = kDLCPU;
  args[3].v_int64 = 0;
  if (TVMFuncGetGlobal("tvm.graph_executor.create", &create) ||
      TVMFuncCall(create, args, codes, 4, &ret, &ret_code)) {
    printf("error %s\n", TVMGetLastError());
    free(str);
    return;
  }
  if (TVMModGetFunction(ret.v_handle, "get_input_info", 0, &info) ||
      TVMFuncCall(info, args, codes, 0, &ret, &ret_code)) {
    printf("error %s\n", TVMGetLastError());
  } else {
    printf("info %s\n", ret.v_str);
  }
  free(str);
}

int main(int argc, char** argv) {
  TVMModuleHandle mod = NULL;
  int info = argc > 1 && strcmp(argv[1], "--input-info") == 0;
  int i;
  if (TVMPlatformInitialize() || TVMInitializeRuntime() || TVMModCreateFromCModule(&kModule, &mod) ||
      TVMGraphExecutorModule_Register()) {
    return 2;
  }
  for (i = 1 + info; i < argc; i++) {
    size_t len = 0;
    char* text = ReadFile(argv[i], &len);
    if (!text) return 3;
    if (info) {
      InputInfo(mod, text, len);
    } else {
      Check(mod, text, len);
    }
    free(text);
  }
  return 0;
}
