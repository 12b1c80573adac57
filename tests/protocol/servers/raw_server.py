"""A hand-written Project API server (not using server.py) that misbehaves on request.

Copied into a test project as microtvm_api_server.py; behaviour.txt in the working directory
picks what it does: garbage, wrong_id, partial_line, exit_at_start, close_pipes, stubborn
(ignores EOF and SIGTERM), or plain_base85 (a correct server without the encoding extension).
"""

import base64
import json
import os
import signal
import sys
import time


def _fds() -> tuple:
    args = sys.argv[1:]
    return int(args[args.index("--read-fd") + 1]), int(args[args.index("--write-fd") + 1])


def _plain_base85_result(request: dict, pending: bytearray) -> object:
    """What a server without the encoding extension answers (extra params are refused)."""
    method, params = request["method"], request["params"]
    if method == "server_info_query":
        return {
            "protocol_version": 1,
            "platform_name": "plain",
            "is_template": True,
            "model_library_format_path": None,
            "project_options": [],
        }
    if method == "write_transport":
        pending.extend(base64.b85decode(params["data"]))
        return None
    if method == "read_transport":
        data = bytes(pending[: params["n"]])
        del pending[: params["n"]]
        return {"data": base64.b85encode(data).decode("ascii")}
    return None


def main() -> None:
    with open("behaviour.txt") as f:
        behaviour = f.read().strip()
    read_fd, write_fd = _fds()
    if behaviour == "exit_at_start":
        sys.stderr.write("fatal: this server cannot start (on purpose)\n")
        sys.exit(3)
    if behaviour == "close_pipes":
        os.close(read_fd)
        os.close(write_fd)
        time.sleep(60)
    if behaviour == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    reader = os.fdopen(read_fd, "rb")
    pending = bytearray()
    for line in reader:
        request = json.loads(line)
        if behaviour == "garbage":
            reply = b"this is not JSON\n"
        elif behaviour == "partial_line":
            reply = b'{"jsonrpc": "2.0", "id": '
        elif behaviour == "wrong_id":
            reply = json.dumps({"jsonrpc": "2.0", "id": request["id"] + 100, "result": None})
            reply = reply.encode() + b"\n"
        elif behaviour == "plain_base85":
            extra = set(request["params"]) - {"n", "timeout_sec", "data", "tvm_version", "options"}
            if extra:
                error = {
                    "code": -32602,
                    "message": f"extra parameters {sorted(extra)}",
                    "data": None,
                }
                body = {"jsonrpc": "2.0", "id": request["id"], "error": error}
            else:
                result = _plain_base85_result(request, pending)
                body = {"jsonrpc": "2.0", "id": request["id"], "result": result}
            reply = json.dumps(body).encode() + b"\n"
        else:
            reply = b""
        os.write(write_fd, reply)
    while behaviour == "stubborn":
        time.sleep(60)


if __name__ == "__main__":
    main()
