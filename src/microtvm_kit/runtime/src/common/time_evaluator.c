/*
 * runtime.RPCTimeEvaluator: times a module function on the device with the platform timer.
 * Semantics follow TVM's: warm-up call, `repeat` measurements of `number` calls each, `number`
 * adapted until a measurement reaches min_repeat_ms, result = mean seconds per call as doubles.
 * Differences: repeats_to_cooldown <= 0 means "after every repetition" instead of a division by
 * zero, and allocation failures are reported instead of dereferencing NULL.
 */
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/platform.h>

/* Growth factor of `number` between too-short measurements (golden ratio, as TVM). */
#define TVM_TIME_EVALUATOR_GROWTH 1.618

typedef struct {
  TVMFunctionHandle func;
  int64_t number;
  int64_t repeat;
  int64_t min_repeat_ms;
  int64_t limit_zero_time_iterations;
  int64_t cooldown_interval_ms;
  int64_t repeats_to_cooldown;
} TimeEvaluatorState;

static TimeEvaluatorState g_state;
static uint16_t g_counter; /* low 15 bits of the latest handle; 0 = none yet */

int TVMTimeEvaluatorCreate(TVMValue* args, int* type_codes, int num_args, TVMValue* ret_val,
                           int* ret_type_code, void* resource_handle) {
  static const int kExpected[12] = {kTVMModuleHandle, kTVMStr, 0, 0, 0, 0, 0, 0, 0, 0, 0, kTVMStr};
  TVMFunctionHandle func = NULL;
  int i;
  (void)resource_handle;
  if (num_args < 12) {
    return TVMAPIErrorf("runtime.RPCTimeEvaluator: not enough args (%d, need 12)", num_args);
  }
  for (i = 0; i < 12; i++) {
    if (type_codes[i] != kExpected[i]) {
      return TVMAPIErrorf("runtime.RPCTimeEvaluator: one or more invalid arg types "
                          "(argument %d has type code %d, expected %d)",
                          i, type_codes[i], kExpected[i]);
    }
  }
  if (TVMModuleFromHandle(args[0].v_handle) == NULL) return -1;
  if (TVMModGetFunction(args[0].v_handle, args[1].v_str, 1, &func) != 0) {
    return TVMAPIErrorf("runtime.RPCTimeEvaluator: no function %s in module", args[1].v_str);
  }
  if (args[4].v_int64 < 1 || args[5].v_int64 < 1) {
    return TVMAPIErrorf("runtime.RPCTimeEvaluator: number (%ld) and repeat (%ld) must be >= 1",
                        (long)args[4].v_int64, (long)args[5].v_int64);
  }
  g_state.func = func;
  g_state.number = args[4].v_int64;
  g_state.repeat = args[5].v_int64;
  g_state.min_repeat_ms = args[6].v_int64;
  g_state.limit_zero_time_iterations = args[7].v_int64;
  g_state.cooldown_interval_ms = args[8].v_int64;
  g_state.repeats_to_cooldown = args[9].v_int64;
  /* args 10 (cache_flush_bytes) and 11 (f_preproc) are accepted and ignored, as in TVM. */
  g_counter = (uint16_t)((g_counter + 1) & 0x7fff);
  if (g_counter == 0) g_counter = 1;
  ret_val->v_handle = (void*)TVM_CRT_FUNC_HANDLE(TVM_CRT_TIME_EVALUATOR_SLOT, g_counter);
  *ret_type_code = kTVMPackedFuncHandle;
  return 0;
}

/* Busy-waits about `ms` milliseconds using the platform timer (no sleep in the platform API). */
static int Cooldown(int64_t ms) {
  double total = 0, t = 0;
  while (total * 1000.0 < (double)ms) {
    if (TVMPlatformTimerStart() != kTvmErrorNoError) return -1;
    if (TVMPlatformTimerStop(&t) != kTvmErrorNoError) return -1;
    total += t;
  }
  return 0;
}

static int CallN(int64_t n, TVMValue* args, int* type_codes, int num_args) {
  TVMValue ret;
  int code;
  int64_t k;
  for (k = 0; k < n; k++) {
    if (TVMFuncCall(g_state.func, args, type_codes, num_args, &ret, &code) != 0) return -1;
  }
  return 0;
}

int TVMTimeEvaluatorCall(uint16_t counter, TVMValue* args, int* type_codes, int num_args,
                         TVMValue* ret_val, int* ret_type_code) {
  static const DLDevice kCPU = {kDLCPU, 0};
  TVMByteArray* result = NULL;
  double* times = NULL;
  double min_s;
  int64_t i;
  if (counter == 0 || counter != g_counter) {
    return TVMAPIErrorf("time evaluator handle %u is not the latest (%u)", (unsigned)counter,
                        (unsigned)g_counter);
  }
  if (TVMPlatformMemoryAllocate(sizeof(TVMByteArray), kCPU, (void**)&result) !=
          kTvmErrorNoError ||
      TVMPlatformMemoryAllocate(sizeof(double) * (size_t)g_state.repeat, kCPU,
                                (void**)&times) != kTvmErrorNoError) {
    if (result) TVMPlatformMemoryFree(result, kCPU);
    return TVMAPIErrorf("time evaluator: out of memory for %ld results", (long)g_state.repeat);
  }
  result->data = (const char*)times;
  result->size = sizeof(double) * (size_t)g_state.repeat;

  /* Warm-up, not timed. */
  if (CallN(1, args, type_codes, num_args) != 0) goto fail_keep_error;

  min_s = (double)g_state.min_repeat_ms / 1000.0;
  for (i = 0; i < g_state.repeat; i++) {
    double t = 0;
    int64_t zero_count = 0;
    do {
      if (t > 0) {
        int64_t adapted = (int64_t)(min_s / (t / (double)g_state.number) + 1);
        int64_t grown = (int64_t)((double)g_state.number * TVM_TIME_EVALUATOR_GROWTH);
        g_state.number = adapted > grown ? adapted : grown;
      }
      if (TVMPlatformBeforeMeasurement() != kTvmErrorNoError) goto fail_platform;
      if (TVMPlatformTimerStart() != kTvmErrorNoError) goto fail_platform;
      if (CallN(g_state.number, args, type_codes, num_args) != 0) {
        double ignored;
        TVMPlatformTimerStop(&ignored);
        goto fail_keep_error;
      }
      if (TVMPlatformTimerStop(&t) != kTvmErrorNoError) goto fail_platform;
      if (TVMPlatformAfterMeasurement() != kTvmErrorNoError) goto fail_platform;
      if (t == 0) zero_count++;
    } while (t < min_s && zero_count < g_state.limit_zero_time_iterations);
    times[i] = t / (double)g_state.number;
    if (g_state.cooldown_interval_ms > 0 &&
        (g_state.repeats_to_cooldown <= 0 || i % g_state.repeats_to_cooldown == 0)) {
      if (Cooldown(g_state.cooldown_interval_ms) != 0) goto fail_platform;
    }
  }
  ret_val->v_handle = result;
  *ret_type_code = kTVMBytes;
  return 0;

fail_platform:
  TVMAPIErrorf("time evaluator: platform timer failure");
fail_keep_error:
  TVMPlatformMemoryFree(times, kCPU);
  TVMPlatformMemoryFree(result, kCPU);
  return -1;
}
