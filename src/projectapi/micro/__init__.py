"""Host side of a microTVM device session: framing, session, MinRPC and model executors.

Typical use::

    with projectapi.Session(project.transport()) as session:
        executor = session.create_aot_executor()
        executor.set_input("input", x)
        executor.run()
        y = executor.get_output(0)
"""

from .device_session import Session, Transport
from .errors import (
    DeviceTerminatedError,
    ProfilingUnavailable,
    ProtocolError,
    RemoteError,
    SessionError,
    SessionTimeoutError,
)
from .executors import (
    AotExecutor,
    BenchmarkResult,
    GraphExecutor,
    HostGraphExecutor,
)
from .graph import Graph, GraphError
from .profiling import OperatorTime, Profile, format_profile_table
from .rpc import RemoteArray, RemoteFunction, RemoteModule, RPCClient, TimeEvaluator

__all__ = [
    "AotExecutor",
    "BenchmarkResult",
    "DeviceTerminatedError",
    "Graph",
    "GraphError",
    "GraphExecutor",
    "HostGraphExecutor",
    "OperatorTime",
    "Profile",
    "ProfilingUnavailable",
    "ProtocolError",
    "RPCClient",
    "RemoteArray",
    "RemoteError",
    "RemoteFunction",
    "RemoteModule",
    "Session",
    "SessionError",
    "SessionTimeoutError",
    "TimeEvaluator",
    "Transport",
    "format_profile_table",
]
