#!/usr/bin/env bash
# Install everything projectapi needs on a Debian 12 machine: system packages (compilers, cmake,
# the Cortex-M and RISC-V cross toolchains, QEMU, clang for fuzzing, OpenOCD) and the Python package with
# its test extras in a virtual environment at .venv. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build python3-venv
  gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
  clang libclang-rt-14-dev
  openocd
  iproute2 util-linux  # ip, unshare and nsenter: the farm tests run Ray in a private network namespace
  gcc-avr avr-libc binutils-avr arduino-core-avr simavr libsimavr-dev
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,compile,compile-test,pyocd,farm]"
