/* Cortex-M start-up: vector table, reset handler (FPU on, then board_start), SysTick extended to
 * 64 bits, and the sleep primitive. */
#include <stdint.h>

#include "../board.h"
#include "cortex_m.h"

/* Exceptions before the first external interrupt; the table reaches the UART's interrupt. */
#define CORE_VECTORS 16u
#define VECTOR_COUNT (CORE_VECTORS + BOARD_UART_RX_IRQ + 1u)
#define SYSTICK_RELOAD 0x00FFFFFFu /* SysTick is a 24-bit down-counter */

extern uint32_t __stack_top[];

void reset_handler(void);
static void fault_handler(void);
static void systick_handler(void);
static void uart_handler(void);

typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) static const vector_t vector_table[VECTOR_COUNT] = {
    [0] = (vector_t)(uintptr_t)__stack_top,
    [1] = reset_handler,
    [2] = fault_handler,  /* NMI */
    [3] = fault_handler,  /* HardFault */
    [4] = fault_handler,  /* MemManage */
    [5] = fault_handler,  /* BusFault */
    [6] = fault_handler,  /* UsageFault */
    [7] = fault_handler,  /* SecureFault (ARMv8-M) */
    [11] = fault_handler, /* SVCall */
    [14] = fault_handler, /* PendSV */
    [15] = systick_handler,
    [CORE_VECTORS + BOARD_UART_RX_IRQ] = uart_handler,
};

static volatile uint32_t systick_wraps;

void reset_handler(void) {
#if defined(__ARM_FP)
  SCB_CPACR |= 0xFu << 20; /* full access to CP10 and CP11 (the FPU) */
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  board_start();
  for (;;) {
    __asm__ volatile("wfi");
  }
}

/* A fault in the firmware: stop here; the host sees the link go silent and times out. */
static void fault_handler(void) {
  for (;;) {
    __asm__ volatile("wfi");
  }
}

static void systick_handler(void) { systick_wraps++; }

static void uart_handler(void) { board_uart_isr(); }

void board_init(void) {
  SYST_RVR = SYSTICK_RELOAD;
  SYST_CVR = 0u;
  SYST_CSR = 0x7u; /* processor clock, interrupt on wrap, enabled */
  board_uart_init();
  __asm__ volatile("cpsie i" ::: "memory");
}

uint64_t board_timer_ticks(void) {
  uint32_t wraps;
  uint32_t value;
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  return ((uint64_t)wraps << 24) + (SYSTICK_RELOAD - value);
}

void board_wait_for_rx(void) {
  /* Interrupts masked around the check so a byte arriving between check and wfi still wakes it. */
  __asm__ volatile("cpsid i" ::: "memory");
  if (!board_rx_pending()) {
    __asm__ volatile("dsb\n\twfi" ::: "memory");
  }
  __asm__ volatile("cpsie i" ::: "memory");
}
