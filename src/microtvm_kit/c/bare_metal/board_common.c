/* What every board shares: the C start-up, and the receive ring buffer between the UART
 * interrupt (producer) and the main loop (consumer). */
#include <string.h>

#include "board.h"

extern uint8_t __data_start[], __data_end[], __data_load[];
extern uint8_t __bss_start[], __bss_end[];
extern uint8_t __tls_base[];
extern int main(void);
extern void _set_tls(void* tls); /* picolibc: where thread-local data (errno) lives */

void board_start(void) {
  memcpy(__data_start, __data_load, (size_t)(__data_end - __data_start));
  memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
  _set_tls(__tls_base);
  board_init();
  main();
}

/* Power of two. Holds more than any single request the host sends before it waits for a reply;
 * when it is full the UART itself holds off the sender, so no byte is ever dropped. */
#ifndef BOARD_RX_BUFFER_BYTES
#define BOARD_RX_BUFFER_BYTES 4096u
#endif

static volatile uint8_t rx_buffer[BOARD_RX_BUFFER_BYTES];
static volatile uint32_t rx_head;   /* written by the interrupt only */
static volatile uint32_t rx_tail;   /* written by the main loop only */
static volatile int rx_irq_masked;  /* set by the interrupt, cleared by the main loop */

int board_rx_pause_if_full(void) {
  if (rx_head - rx_tail >= BOARD_RX_BUFFER_BYTES) {
    rx_irq_masked = 1;
    board_uart_rx_irq_enable(0);
    return 1;
  }
  return 0;
}

void board_rx_push(uint8_t byte) {
  uint32_t head = rx_head;
  rx_buffer[head % BOARD_RX_BUFFER_BYTES] = byte;
  rx_head = head + 1u;
}

int board_rx_pending(void) { return rx_head != rx_tail; }

size_t board_uart_read(uint8_t* buf, size_t cap) {
  size_t n = 0;
  uint32_t tail = rx_tail;
  uint32_t head = rx_head;
  while (n < cap && tail != head) {
    buf[n++] = rx_buffer[tail % BOARD_RX_BUFFER_BYTES];
    tail++;
  }
  rx_tail = tail;
  if (n > 0 && rx_irq_masked) {
    rx_irq_masked = 0;
    board_uart_rx_irq_enable(1);
  }
  return n;
}

void board_uart_write(const uint8_t* data, size_t len) {
  size_t i;
  for (i = 0; i < len; ++i) {
    board_uart_putc(data[i]);
  }
}
