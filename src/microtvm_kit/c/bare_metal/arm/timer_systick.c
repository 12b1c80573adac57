/* The Cortex-M SysTick as the board timer: its 24-bit down-counter on the processor clock,
 * extended to 64 bits by counting wraps in its interrupt. */
#include "../board.h"
#include "cortex_m.h"

#define SYSTICK_RELOAD 0x00FFFFFFu
#define SYST_CSR_ENABLE_TICKINT_CLKSOURCE 0x7u /* processor clock, interrupt on wrap, enabled */

static volatile uint32_t systick_wraps;

void board_timer_init(void) {
  SYST_RVR = SYSTICK_RELOAD;
  SYST_CVR = 0u;
  SYST_CSR = SYST_CSR_ENABLE_TICKINT_CLKSOURCE;
}

void board_timer_isr(void) { systick_wraps++; }

uint64_t board_timer_ticks(void) {
  uint32_t wraps;
  uint32_t value;
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  return ((uint64_t)wraps << 24) + (SYSTICK_RELOAD - value);
}
