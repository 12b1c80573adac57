/* An nRF51 / nRF52 TIMER as the board timer: 32 bits at 16 MHz (prescaler 0), extended to 64 bits
 * by counting wraps with compare channel 0 at 0. Register layout from Nordic's nRF51 reference
 * manual. */
#include "../board.h"
#include "../arm/cortex_m.h"

#define TIMER_TASKS_START REG32(BOARD_TIMER_BASE + 0x000u)
#define TIMER_TASKS_CLEAR REG32(BOARD_TIMER_BASE + 0x00Cu)
#define TIMER_TASKS_CAPTURE1 REG32(BOARD_TIMER_BASE + 0x044u)
#define TIMER_EVENTS_COMPARE0 REG32(BOARD_TIMER_BASE + 0x140u)
#define TIMER_INTENSET REG32(BOARD_TIMER_BASE + 0x304u)
#define TIMER_MODE REG32(BOARD_TIMER_BASE + 0x504u)
#define TIMER_BITMODE REG32(BOARD_TIMER_BASE + 0x508u)
#define TIMER_PRESCALER REG32(BOARD_TIMER_BASE + 0x510u)
#define TIMER_CC0 REG32(BOARD_TIMER_BASE + 0x540u)
#define TIMER_CC1 REG32(BOARD_TIMER_BASE + 0x544u)

#define MODE_TIMER 0u
#define BITMODE_32 3u
#define INT_COMPARE0 (1u << 16)

static volatile uint32_t timer_wraps;

void board_timer_init(void) {
  TIMER_MODE = MODE_TIMER;
  TIMER_BITMODE = BITMODE_32;
  TIMER_PRESCALER = 0u;
  TIMER_CC0 = 0u; /* the counter passes 0 once per wrap */
  TIMER_INTENSET = INT_COMPARE0;
  TIMER_TASKS_CLEAR = 1u;
  TIMER_TASKS_START = 1u;
  nvic_enable_irq(BOARD_TIMER_VECTOR - 16u);
}

void board_timer_isr(void) {
  TIMER_EVENTS_COMPARE0 = 0u;
  timer_wraps++;
}

uint64_t board_timer_ticks(void) {
  uint32_t wraps;
  uint32_t value;
  do {
    wraps = timer_wraps;
    TIMER_TASKS_CAPTURE1 = 1u;
    value = TIMER_CC1;
  } while (wraps != timer_wraps);
  return ((uint64_t)wraps << 32) + value;
}
