/* user_emit for a program on this machine: standard output. */
#include <stdio.h>

void user_emit(const void* data, size_t len) { fwrite(data, 1, len, stdout); }

void user_done(void) { fflush(stdout); }
