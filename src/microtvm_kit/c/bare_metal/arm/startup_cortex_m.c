/* Cortex-M start-up: vector table, reset handler (FPU on, then board_start), and the sleep
 * primitive. The timer is a driver of its own (timer_<driver>.c), at vector BOARD_TIMER_VECTOR. */
#include <stdint.h>

#include "../board.h"
#include "cortex_m.h"

/* Exceptions before the first external interrupt; the table reaches the UART's and the timer's. */
#define CORE_VECTORS 16u
#define UART_VECTOR (CORE_VECTORS + BOARD_UART_RX_IRQ)
#define VECTOR_COUNT \
  ((UART_VECTOR > BOARD_TIMER_VECTOR ? UART_VECTOR : BOARD_TIMER_VECTOR) + 1u)

extern uint32_t __stack_top[];

void reset_handler(void);
static void fault_handler(void);
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
    [BOARD_TIMER_VECTOR] = board_timer_isr,
    [UART_VECTOR] = uart_handler,
};

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

static void uart_handler(void) { board_uart_isr(); }

void board_init(void) {
#ifdef BOARD_CLOCK_SETUP
  board_clock_init(); /* first: the timer and the UART run on its rates */
#endif
  board_timer_init();
  board_uart_init();
  __asm__ volatile("cpsie i" ::: "memory");
}

void board_wait_for_rx(void) {
  /* Interrupts masked around the check so a byte arriving between check and wfi still wakes it. */
  __asm__ volatile("cpsid i" ::: "memory");
  if (!board_rx_pending()) {
    __asm__ volatile("dsb\n\twfi" ::: "memory");
  }
  __asm__ volatile("cpsie i" ::: "memory");
}

/* Every Cortex-M UART driver pauses and resumes receiving at the NVIC; resuming re-runs the
 * handler, which drains what waited in the UART meanwhile. */
void board_uart_rx_irq_enable(int enable) {
  if (enable) {
    nvic_enable_irq(BOARD_UART_RX_IRQ);
    nvic_set_pending(BOARD_UART_RX_IRQ);
  } else {
    nvic_disable_irq(BOARD_UART_RX_IRQ);
  }
}
