/* The byte transport and clock a firmware main loop runs on; one implementation per platform
 * (POSIX stdin/stdout on the host, the UART on a board). */
#ifndef PROJECTAPI_PORT_H_
#define PROJECTAPI_PORT_H_

#include <stddef.h>
#include <stdint.h>

/* Blocks until at least one byte is available, then stores up to cap bytes in buf and returns
 * how many; returns 0 only at the end of input (the host closed the transport). */
size_t projectapi_port_read(uint8_t* buf, size_t cap);

/* Writes all len bytes; returns 0 on success, non-zero if the transport failed. */
int projectapi_port_write(const uint8_t* data, size_t len);

/* Seconds from a monotonic clock (any origin). */
double projectapi_port_seconds(void);

#endif /* PROJECTAPI_PORT_H_ */
