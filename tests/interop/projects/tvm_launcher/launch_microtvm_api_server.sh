#!/bin/bash
# A launcher in TVM's convention: the server script's path first, then the server's arguments.
# Runs the script with $TVM_STYLE_PYTHON (default: python3 on PATH).
if [ $# -lt 1 ] || [ "$(basename -- "$1")" != microtvm_api_server.py ]; then
  echo "usage: $0 <path to microtvm_api_server.py> --read-fd N --write-fd N [--debug]" >&2
  exit 255
fi
script=$1
shift
exec "${TVM_STYLE_PYTHON:-python3}" "$script" "$@"
