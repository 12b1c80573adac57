/*
 * Feeds graph JSON files to TVMGraphExecutor_Create, one line per file on stdout:
 *   graph_json_check FILE...   ->   "ok NAME,NAME,..." (node names) or "error MESSAGE"
 * Operators resolve to "op", a function that does nothing, so valid graphs are also run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/graph_executor.h>
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

int main(int argc, char** argv) {
  TVMModuleHandle mod = NULL;
  int i;
  if (TVMPlatformInitialize() || TVMInitializeRuntime() || TVMModCreateFromCModule(&kModule, &mod)) {
    return 2;
  }
  for (i = 1; i < argc; i++) {
    size_t len = 0;
    char* text = ReadFile(argv[i], &len);
    if (!text) return 3;
    Check(mod, text, len);
    free(text);
  }
  return 0;
}
