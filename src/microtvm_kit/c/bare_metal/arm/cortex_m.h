/* Cortex-M system registers used by the board layer (addresses from the ARMv7-M/ARMv8-M
 * architecture reference manuals' System Control Space). */
#ifndef PROJECTAPI_QEMU_CORTEX_M_H_
#define PROJECTAPI_QEMU_CORTEX_M_H_

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t*)(uintptr_t)(addr))

#define SYST_CSR REG32(0xE000E010u) /* SysTick control and status */
#define SYST_RVR REG32(0xE000E014u) /* SysTick reload value */
#define SYST_CVR REG32(0xE000E018u) /* SysTick current value */
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n)) /* interrupt set-enable */
#define NVIC_ICER(n) REG32(0xE000E180u + 4u * (n)) /* interrupt clear-enable */
#define NVIC_ISPR(n) REG32(0xE000E200u + 4u * (n)) /* interrupt set-pending */
#define SCB_CPACR REG32(0xE000ED88u)                /* coprocessor access control */

static inline void nvic_enable_irq(unsigned irq) { NVIC_ISER(irq / 32u) = 1u << (irq % 32u); }
static inline void nvic_set_pending(unsigned irq) { NVIC_ISPR(irq / 32u) = 1u << (irq % 32u); }
static inline void nvic_disable_irq(unsigned irq) { NVIC_ICER(irq / 32u) = 1u << (irq % 32u); }

#endif /* PROJECTAPI_QEMU_CORTEX_M_H_ */
