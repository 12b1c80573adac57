/* projectapi_port.h over the board's UART and timer: reads sleep in wfi until bytes arrive. */
#include "board.h"
#include "projectapi_port.h"

size_t projectapi_port_read(uint8_t* buf, size_t cap) {
  for (;;) {
    size_t got = board_uart_read(buf, cap);
    if (got > 0) {
      return got;
    }
    board_wait_for_rx();
  }
}

int projectapi_port_write(const uint8_t* data, size_t len) {
  board_uart_write(data, len);
  return 0;
}

double projectapi_port_seconds(void) { return (double)board_timer_ticks() / (double)BOARD_TIMER_HZ; }
