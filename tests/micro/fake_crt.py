"""A device in Python for session tests: the responder side of the session protocol plus a small
MinRPC server with globals, modules, memory, NDArrays and a time evaluator.

``FakeCRT`` answers decoded RPC packets; ``FakeLink`` is a transport carrying bytes between a
host Session and a FakeCRT through the real framing and session code. With ``strict_reads``
its ``read`` refuses to be asked for more bytes than the device has sent, which checks that a
Session with ``exact_reads`` only asks for bytes it is owed.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from projectapi.micro.framing import Framer, Packet, Unframer
from projectapi.micro.rpc_codec import (
    CallFunc,
    CopyAck,
    CopyFromRemote,
    CopyToRemote,
    DLTensor,
    ExceptionReply,
    FuncHandle,
    Handle,
    ModuleHandle,
    NDArrayRef,
    Return,
    RPCCode,
    RPCPacket,
    Syscall,
    decode_packet,
    encode_call_result,
    encode_packet,
)
from projectapi.micro.session_protocol import (
    MessageReceived,
    MessageType,
    SessionProtocol,
    encode_message,
)

DeviceFunction = Callable[..., Any]


class DeviceFailure(Exception):
    """Raised by a fake device function: answered as an Exception reply with this text."""


class NoReply(Exception):
    """Raised by a fake device function to make the device hang (send nothing)."""


class FakeCRT:
    """Globals, modules, memory and NDArrays of a pretend device; answers RPC packets."""

    def __init__(self, max_packet_size: int | None = 2037) -> None:
        self.requests: list[RPCPacket] = []
        self.memory: dict[int, bytearray] = {}
        self.functions: dict[int, DeviceFunction] = {}
        self.globals: dict[str, int] = {}
        self.modules: dict[int, dict[str, DeviceFunction]] = {}
        self.durations: dict[str, float] = {}
        self.freed: list[tuple[int, int]] = []
        self._next_handle = 0x8000_0000
        self._next_pointer = 0x2000_0000
        self.syslib = self.add_module({})
        self.register("runtime.SystemLib", lambda: ModuleHandle(self.syslib))
        self.register("tvm.rpc.server.ModuleGetFunction", self._module_get_function)
        self.register("runtime.RPCTimeEvaluator", self._time_evaluator)
        if max_packet_size is not None:
            self.register("tvm.rpc.server.GetCRTMaxPacketSize", lambda: max_packet_size)

    # Set-up --------------------------------------------------------------------------------

    def _new_handle(self) -> int:
        self._next_handle += 1
        return self._next_handle

    def register(self, name: str, func: DeviceFunction) -> None:
        """Add a global function."""
        handle = self._new_handle()
        self.functions[handle] = func
        self.globals[name] = handle

    def add_module(self, functions: dict[str, DeviceFunction]) -> int:
        """Add a module; returns its handle."""
        handle = self._new_handle()
        self.modules[handle] = functions
        return handle

    def alloc(self, nbytes: int) -> int:
        """Allocate zeroed device memory; returns its address."""
        pointer = self._next_pointer
        self.memory[pointer] = bytearray(nbytes)
        self._next_pointer += (nbytes + 0xFFF) & ~0xFFF or 0x1000
        return pointer

    def new_ndarray(self, tensor: DLTensor) -> NDArrayRef:
        """An NDArray view of ``tensor`` with a handle of its own."""
        return NDArrayRef(tensor, self._new_handle())

    def _block(self, address: int) -> tuple[bytearray, int]:
        for start, block in self.memory.items():
            if start <= address <= start + len(block):
                return block, address - start
        raise DeviceFailure(f"bad address 0x{address:x}")

    def read(self, tensor: DLTensor, nbytes: int | None = None) -> bytes:
        """Bytes of a tensor (or ``nbytes`` from its data + byte_offset)."""
        block, offset = self._block(tensor.data + tensor.byte_offset)
        return bytes(block[offset : offset + (tensor.nbytes if nbytes is None else nbytes)])

    def write(self, tensor: DLTensor, data: bytes) -> None:
        """Store bytes at a tensor's data + byte_offset."""
        block, offset = self._block(tensor.data + tensor.byte_offset)
        if offset + len(data) > len(block):
            raise DeviceFailure("write past the end of a buffer")
        block[offset : offset + len(data)] = data

    def array(self, tensor: DLTensor) -> np.ndarray:
        """A tensor's contents as float32."""
        return np.frombuffer(self.read(tensor), dtype="<f4").reshape(tensor.shape)

    # Built-in globals ----------------------------------------------------------------------

    def _module_get_function(self, module: ModuleHandle, name: str, _query: int) -> Any:
        func = self.modules[module.value].get(name)
        if func is None:
            return None
        handle = self._new_handle()
        self.functions[handle] = func
        return FuncHandle(handle)

    def _time_evaluator(self, module: ModuleHandle, name: str, *settings: Any) -> FuncHandle:
        assert len(settings) == 10, settings
        number, repeat = settings[2], settings[3]
        func = self.modules[module.value][name]
        duration = self.durations.get(name, 0.001)

        def timer(*args: Any) -> bytes:
            for _ in range(1 + number * repeat):
                func(*args)
            return struct.pack(f"<{repeat}d", *[duration] * repeat)

        handle = self._new_handle()
        self.functions[handle] = timer
        return FuncHandle(handle)

    # Requests ------------------------------------------------------------------------------

    def answer(self, packet: RPCPacket) -> RPCPacket:
        """The reply to one request (raises NoReply to stay silent)."""
        self.requests.append(packet)
        try:
            return self._answer(packet)
        except DeviceFailure as failure:
            return ExceptionReply(str(failure))

    def _answer(self, packet: RPCPacket) -> RPCPacket:
        if isinstance(packet, CallFunc):
            func = self.functions.get(packet.handle)
            if func is None:
                raise DeviceFailure(f"invalid function handle 0x{packet.handle:x}")
            return encode_call_result(func(*packet.args))
        if isinstance(packet, CopyToRemote):
            self.write(packet.tensor, packet.data)
            return Return((None,))
        if isinstance(packet, CopyFromRemote):
            return CopyAck(self.read(packet.tensor, packet.nbytes))
        assert isinstance(packet, Syscall), packet
        args = packet.args
        if packet.code == RPCCode.GET_GLOBAL_FUNC:
            return Return((Handle(self.globals.get(args[0], 0)),))
        if packet.code == RPCCode.FREE_HANDLE:
            self.freed.append((args[0].value, args[1]))
            return Return((None,))
        if packet.code == RPCCode.DEV_ALLOC_DATA:
            return Return((Handle(self.alloc(args[1])),))
        if packet.code == RPCCode.DEV_FREE_DATA:
            del self.memory[args[1].value]
            return Return((None,))
        if packet.code == RPCCode.DEV_STREAM_SYNC:
            return Return((None,))
        raise DeviceFailure(f"syscall {packet.code!r} not supported")


class FakeLink:
    """A transport between a host Session and a FakeCRT, through real framing and session."""

    def __init__(
        self,
        device: FakeCRT,
        *,
        timeouts: dict[str, float] | None = None,
        ignore_inits: int = 0,
        strict_reads: bool = False,
    ) -> None:
        """``ignore_inits``: how many StartSessionInit messages the device misses."""
        self.strict_reads = strict_reads
        self.device = device
        self.timeouts = timeouts or {}
        self.ignore_inits = ignore_inits
        self.inits_seen = 0
        self.is_open = False
        self.largest_request = 0
        self.protocol = SessionProtocol(seed=lambda: 0x3C)
        self._unframer = Unframer()
        self._framer = Framer()
        self._outbox = bytearray()
        self._send(0, MessageType.TERMINATE_SESSION)  # the boot message

    def _send(self, session_id: int, message_type: int, body: bytes = b"") -> None:
        self._outbox += self._framer.frame(encode_message(session_id, message_type, body))

    def open(self) -> dict[str, float]:
        self.is_open = True
        return self.timeouts

    def close(self) -> None:
        self.is_open = False

    def send_log(self, text: str) -> None:
        """Send a device log message now."""
        self._send(0, MessageType.LOG, text.encode())

    def reset(self) -> None:
        """Pretend the device rebooted: it forgets the session and sends TerminateSession."""
        self.protocol.terminate()
        self.protocol.data_to_send()
        self._send(0, MessageType.TERMINATE_SESSION)

    def write(self, data: bytes, timeout_sec: float | None) -> None:
        assert self.is_open
        for packet in self._unframer.receive_data(data):
            assert isinstance(packet, Packet) and packet.crc_ok
            if packet.payload[2] == MessageType.START_SESSION_INIT:
                self.inits_seen += 1
                if self.inits_seen <= self.ignore_inits:
                    continue
            for event in self.protocol.receive_data(Framer().frame(packet.payload)):
                if isinstance(event, MessageReceived):
                    self._on_request(event.body)
            self._outbox += self.protocol.data_to_send()

    def _on_request(self, body: bytes) -> None:
        self.largest_request = max(self.largest_request, len(body))
        try:
            reply = self.device.answer(decode_packet(body))
        except NoReply:
            return
        self._outbox += self.protocol.data_to_send()
        self.protocol.send_message(encode_packet(reply))

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        assert self.is_open
        if not self._outbox:
            time.sleep(min(timeout_sec or 0.01, 0.01))
            raise TimeoutError("nothing from the device")
        if self.strict_reads:
            assert n <= len(self._outbox), f"asked for {n} bytes, device sent {len(self._outbox)}"
        data = bytes(self._outbox[:n])
        del self._outbox[:n]
        return data
