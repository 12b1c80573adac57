/* RISC-V machine-mode start-up for QEMU's virt board: entry into board_start, the trap handler
 * routing PLIC interrupts to the UART, the CLINT mtime timer, and the sleep primitive. */
#include <stdint.h>

#include "../board.h"

#define REG32(addr) (*(volatile uint32_t*)(uintptr_t)(addr))

/* Platform-level interrupt controller, hart 0 machine-mode context (RISC-V PLIC specification). */
#define PLIC_PRIORITY(irq) REG32(BOARD_PLIC_BASE + 4u * (irq))
#define PLIC_ENABLE(irq) REG32(BOARD_PLIC_BASE + 0x2000u + 4u * ((irq) / 32u))
#define PLIC_THRESHOLD REG32(BOARD_PLIC_BASE + 0x200000u)
#define PLIC_CLAIM REG32(BOARD_PLIC_BASE + 0x200004u)
/* CLINT machine timer, 64 bits as two words. */
#define MTIME_LO REG32(BOARD_MTIME_ADDR)
#define MTIME_HI REG32(BOARD_MTIME_ADDR + 4u)

#define MCAUSE_INTERRUPT 0x80000000u
#define MCAUSE_EXTERNAL 11u
#define MIE_MEIE (1u << 11)
#define MSTATUS_MIE (1u << 3)

void reset_c(void);

__attribute__((interrupt("machine"), aligned(4))) static void trap_handler(void) {
  uint32_t cause;
  __asm__ volatile("csrr %0, mcause" : "=r"(cause));
  if (cause == (MCAUSE_INTERRUPT | MCAUSE_EXTERNAL)) {
    uint32_t irq = PLIC_CLAIM;
    if (irq == BOARD_UART_RX_IRQ) {
      board_uart_isr();
    }
    if (irq != 0u) {
      PLIC_CLAIM = irq; /* complete */
    }
    return;
  }
  for (;;) { /* an exception in the firmware: stop; the host times out on the silent link */
    __asm__ volatile("wfi");
  }
}

void reset_c(void) { board_start(); }

void board_init(void) {
  __asm__ volatile("csrw mtvec, %0" ::"r"((uintptr_t)trap_handler));
  board_uart_init();
  PLIC_PRIORITY(BOARD_UART_RX_IRQ) = 1u;
  PLIC_ENABLE(BOARD_UART_RX_IRQ) |= 1u << (BOARD_UART_RX_IRQ % 32u);
  PLIC_THRESHOLD = 0u;
  __asm__ volatile("csrs mie, %0" ::"r"(MIE_MEIE));
  __asm__ volatile("csrs mstatus, %0" ::"r"(MSTATUS_MIE));
}

uint64_t board_timer_ticks(void) {
  uint32_t hi;
  uint32_t lo;
  do {
    hi = MTIME_HI;
    lo = MTIME_LO;
  } while (hi != MTIME_HI);
  return ((uint64_t)hi << 32) | lo;
}

void board_wait_for_rx(void) {
  /* wfi wakes on a pending enabled interrupt even with MIE clear, so check-then-sleep is safe. */
  __asm__ volatile("csrc mstatus, %0" ::"r"(MSTATUS_MIE));
  if (!board_rx_pending()) {
    __asm__ volatile("wfi");
  }
  __asm__ volatile("csrs mstatus, %0" ::"r"(MSTATUS_MIE));
}
