/* Standalone program. Without arguments it serves the standalone link protocol on stdin/stdout;
 * with --input FILE (one per input, model order), --output FILE (one per output) and
 * --repeat N it runs the model directly and prints its own timing. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/platform.h>

#include "model_glue.h"
#include "npy_io.h"
#include "projectapi_loops.h"

#define MAX_FILES 64

typedef struct {
  const char* inputs[MAX_FILES];
  size_t num_inputs;
  const char* outputs[MAX_FILES];
  size_t num_outputs;
  unsigned long repeat;
} options_t;

static void usage(const char* program) {
  fprintf(stderr,
          "usage: %s                      serve the standalone link protocol on stdin/stdout\n"
          "       %s [--input FILE]... [--output FILE]... [--repeat N]\n"
          "inputs (in this order):",
          program, program);
  for (size_t i = 0; i < projectapi_model_num_inputs; ++i) {
    fprintf(stderr, " %s (%zu bytes)", projectapi_model_inputs[i].name,
            projectapi_model_inputs[i].nbytes);
  }
  fprintf(stderr, "\noutputs (in this order):");
  for (size_t i = 0; i < projectapi_model_num_outputs; ++i) {
    fprintf(stderr, " %s", projectapi_model_outputs[i].name);
  }
  fprintf(stderr, "\n");
}

/* Returns 0 and fills opts, or prints what is wrong and returns non-zero. */
static int parse_args(int argc, char** argv, options_t* opts) {
  for (int i = 1; i < argc; ++i) {
    const char* flag = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "error: %s needs a value\n", flag);
      return 1;
    }
    const char* value = argv[++i];
    if (strcmp(flag, "--input") == 0 && opts->num_inputs < MAX_FILES) {
      opts->inputs[opts->num_inputs++] = value;
    } else if (strcmp(flag, "--output") == 0 && opts->num_outputs < MAX_FILES) {
      opts->outputs[opts->num_outputs++] = value;
    } else if (strcmp(flag, "--repeat") == 0) {
      char* end = NULL;
      opts->repeat = strtoul(value, &end, 10);
      if (*end != '\0' || opts->repeat == 0 || opts->repeat > 0xFFFFFFFFul) {
        fprintf(stderr, "error: --repeat needs a whole number from 1, got '%s'\n", value);
        return 1;
      }
    } else {
      fprintf(stderr, "error: unknown argument %s\n", flag);
      return 1;
    }
  }
  if (opts->num_inputs != projectapi_model_num_inputs && opts->num_inputs != 0) {
    fprintf(stderr, "error: the model has %zu inputs, %zu --input files given\n",
            projectapi_model_num_inputs, opts->num_inputs);
    return 1;
  }
  if (opts->num_outputs > projectapi_model_num_outputs) {
    fprintf(stderr, "error: the model has %zu outputs, %zu --output files given\n",
            projectapi_model_num_outputs, opts->num_outputs);
    return 1;
  }
  return 0;
}

static int run_direct(const options_t* opts) {
  for (size_t i = 0; i < opts->num_inputs; ++i) {
    if (projectapi_read_tensor(opts->inputs[i], &projectapi_model_inputs[i],
                               projectapi_model_input_data[i]) != 0) {
      return 1;
    }
  }
  double total = 0.0;
  double fastest = 0.0;
  int32_t status = projectapi_run_timed((uint32_t)opts->repeat, &total, &fastest);
  if (status != 0) {
    fprintf(stderr, "error: the model returned %ld: %s\n", (long)status, TVMGetLastError());
    return 1;
  }
  for (size_t i = 0; i < opts->num_outputs; ++i) {
    if (projectapi_write_tensor(opts->outputs[i], &projectapi_model_outputs[i],
                                projectapi_model_output_data[i]) != 0) {
      return 1;
    }
  }
  printf("runs: %lu  total: %.6f s  mean: %.6f ms  fastest: %.6f ms\n", opts->repeat, total,
         total * 1e3 / (double)opts->repeat, fastest * 1e3);
  return 0;
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN); /* a closed transport becomes a write error, not a silent death */
  if (TVMPlatformInitialize() != kTvmErrorNoError) {
    fprintf(stderr, "error: platform initialisation failed\n");
    return 1;
  }
  if (argc == 1) return projectapi_standalone_serve();
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(argv[0]);
    return 0;
  }
  options_t opts = {.repeat = 1};
  if (parse_args(argc, argv, &opts) != 0) {
    usage(argv[0]);
    return 2;
  }
  return run_direct(&opts);
}
