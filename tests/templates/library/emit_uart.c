/* user_emit for bare-metal firmware: the board's UART; afterwards the firmware idles. */
#include "board.h"

void user_emit(const void* data, size_t len) { board_uart_write((const uint8_t*)data, len); }

void user_done(void) {
  for (;;) {
    board_wait_for_rx();
  }
}
