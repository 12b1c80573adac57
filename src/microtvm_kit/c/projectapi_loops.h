/* Firmware main loops shared by the templates, written against projectapi_port.h. */
#ifndef PROJECTAPI_LOOPS_H_
#define PROJECTAPI_LOOPS_H_

#include <stdint.h>

/* Status codes of the standalone link protocol besides the model's own non-zero results. */
#define PROJECTAPI_STATUS_OK 0
#define PROJECTAPI_STATUS_BAD_REPEAT (-1000)

/* Prepares the model (projectapi_model_init, untimed), then runs it `repeat` (>= 1) times on the
 * glue's static buffers, timed with the port clock: the total, and the fastest time per run
 * (over groups of runs for very fast models). Returns 0 or the first non-zero result. */
int32_t projectapi_run_timed(uint32_t repeat, double* total_seconds, double* fastest_seconds);

/* Serves the standalone link protocol (docs/architecture.md) until the end of input.
 * Returns 0 at the end of input, non-zero if the transport failed. */
int projectapi_standalone_serve(void);

/* Feeds every received byte to the microTVM RPC server until the end of input or a shutdown
 * request. Returns 0 then, non-zero if the transport failed. */
int projectapi_host_driven_serve(void);

#endif /* PROJECTAPI_LOOPS_H_ */
