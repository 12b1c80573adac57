#!/bin/bash
# A Project API server in bash, cheap to launch: answers one request, then exits on EOF.
# Finds --read-fd/--write-fd wherever they are, so it serves as a launcher under either
# convention (with or without the server script's path as first argument).
# (bash, not sh: dash cannot redirect file descriptors above 9.)
while (($#)); do
  case $1 in
    --read-fd) read_fd=$2; shift ;;
    --write-fd) write_fd=$2; shift ;;
  esac
  shift
done
read -r request <&"$read_fd"
printf '%s\n' '{"jsonrpc":"2.0","id":1,"result":{"protocol_version":1,"platform_name":"sh"}}' >&"$write_fd"
while read -r request <&"$read_fd"; do :; done
