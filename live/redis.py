"""`RedisServer`: a throwaway redis-server on loopback for shared rate-limit quotas in live
runs (no persistence), which chaos can stop and start again on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import shutil

from live.launch import free_port


class RedisError(RuntimeError):
    """redis-server is missing or did not start."""


class RedisServer:
    """``start()`` runs redis-server on a free port (the same port on every later start);
    ``stop()`` ends it (SIGTERM); ``url`` is what adapters get as ``{redis_url}``."""

    def __init__(self, binary: str | None = None, start_timeout_s: float = 10.0) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise RedisError(
                "redis-server is not installed: shared quotas in live runs need it "
                "(Debian: apt-get install redis-server)"
            )
        self.binary = found
        self.port = free_port()
        self.start_timeout_s = start_timeout_s
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        if self.running:
            return
        self._proc = await asyncio.create_subprocess_exec(
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout_s
        while loop.time() < deadline:
            if self._proc.returncode is not None:
                break
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        await self.stop()
        raise RedisError(f"redis-server did not listen on 127.0.0.1:{self.port}")

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
