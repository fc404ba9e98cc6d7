"""Run a command in a child process and measure it as the OS sees it: wall time, CPU time, peak RSS.

The command runs under a small wrapper process, so ``getrusage(RUSAGE_CHILDREN)`` of the wrapper holds
that command (and its own children) only: peak memory is the kernel's ``ru_maxrss``, not an estimate.
"""

from __future__ import annotations

import json
import subprocess
import sys

_WRAPPER = r"""
import json, resource, subprocess, sys, time
w = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL if %(quiet)s else None).returncode
wall = time.perf_counter() - w
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_mb": ru.ru_maxrss / 1024}))
"""


def measured(cmd: list[str], *, quiet: bool = True, env: dict | None = None) -> dict:
    """``{"wall_s", "cpu_s", "peak_mb"}`` of ``cmd`` run to completion (raises when it fails)."""
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER % {"quiet": quiet}, *cmd], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise SystemExit(f"measuring {cmd[:3]} failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... exited {result['rc']}: {out.stderr[-2000:]}")
    return result


def load_average() -> str:
    import os

    return "/".join(f"{x:.1f}" for x in os.getloadavg())
