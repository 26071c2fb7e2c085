"""A real Redis server for the tests: Debian's `redis-server`, on 127.0.0.1 and a free port, in a
temporary directory, keeping nothing on disk. `.ci/run` installs it where it is missing.

    server = RedisServer.start()    # raises RedisUnavailable with the reason
    server.url                      # redis://127.0.0.1:PORT/0
    server.stop()
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

INSTALL_HINT = "install it with `apt-get install redis-server` (.ci/run does)"


class RedisUnavailable(RuntimeError):
    """No Redis server could be started here; the message says why."""


class RedisServer:
    def __init__(self, process: subprocess.Popen, port: int, workdir: tempfile.TemporaryDirectory):
        self.process, self.port, self._workdir = process, port, workdir

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, attempts: int = 3) -> RedisServer:
        """Start redis-server on a free port (a few tries: another process may take the port
        between choosing it and binding it)."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable(f"redis-server is not installed; {INSTALL_HINT}")
        error = ""
        for _ in range(attempts):
            workdir = tempfile.TemporaryDirectory(prefix="digitbot-redis-")
            port = _free_port()
            args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", workdir.name]
            args += ["--save", "", "--appendonly", "no", "--protected-mode", "yes"]
            process = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            if _answers(port, process):
                return cls(process, port, workdir)
            process.kill()
            error = (process.communicate()[0] or "")[-500:]
            workdir.cleanup()
        raise RedisUnavailable(f"redis-server did not start: {error}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._workdir.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int, process: subprocess.Popen, timeout: float = 10.0) -> bool:
    """Whether the server answers PING within `timeout` seconds (False when it exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False
