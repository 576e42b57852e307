"""mitmdump never outlives the kit: stopped with it, and gone (with its work folder, which holds
a copy of the CA key) within seconds when the kit is killed without a chance to stop it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.proxy.helpers import require_mitm

ROOT = Path(__file__).resolve().parents[2]
KIT = """
import sys, threading
sys.path.insert(0, {root!r})
from tests.proxy.helpers import kit_ca, start_proxy
from pathlib import Path
proxy = start_proxy(kit_ca(Path({ca!r})), {{}})
print(proxy.process.pid, proxy.workdir, flush=True)
threading.Event().wait(60)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_mitmdump_exits_when_the_kit_is_killed(tmp_path: Path) -> None:
    require_mitm()

    async def main() -> tuple[int, Path]:
        code = KIT.format(root=str(ROOT), ca=str(tmp_path / "ca"))
        kit = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
        )
        assert kit.stdout is not None
        line = (await asyncio.wait_for(kit.stdout.readline(), 60)).decode().split()
        pid, workdir = int(line[0]), Path(line[1])
        assert _alive(pid) and workdir.is_dir()
        kit.send_signal(signal.SIGKILL)
        await kit.wait()
        for _ in range(300):  # bounded: 30 s, for a busy machine
            if not _alive(pid):
                break
            await asyncio.sleep(0.1)
        return pid, workdir

    pid, workdir = asyncio.run(main())
    if _alive(pid):  # do not leave it behind even when the test fails
        os.kill(pid, signal.SIGKILL)  # the pid this test started, read from its own output
        raise AssertionError("mitmdump outlived the kit")
    assert not workdir.exists()
