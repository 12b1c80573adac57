/* Clock set-up of nRF51 / nRF52 parts: HFCLK from the board's crystal (HFXO) rather than the
 * internal RC oscillator, whose tolerance of several percent is too loose for a dependable
 * 115200 baud; the UART's baud rate and the TIMER both derive from HFCLK. Register layout from
 * Nordic's nRF51 reference manual and nRF52840 product specification (the same on both). */
#include "../board.h"
#include "../arm/cortex_m.h"

#define CLOCK_TASKS_HFCLKSTART REG32(0x40000000u)
#define CLOCK_EVENTS_HFCLKSTARTED REG32(0x40000100u)

void board_clock_init(void) {
  CLOCK_EVENTS_HFCLKSTARTED = 0u;
  CLOCK_TASKS_HFCLKSTART = 1u;
  while (!CLOCK_EVENTS_HFCLKSTARTED) {
  }
}
