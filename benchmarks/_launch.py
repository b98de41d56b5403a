"""Run a command; print its wall time and resource usage as one JSON line.

    python benchmarks/_launch.py LOG_FILE COMMAND [ARG ...]

Why a separate launcher: on Linux a child's ``ru_maxrss`` (from ``wait4``) starts from
the resident size of the process that spawned it, because exec records the peak of the
memory image it replaces. Spawned straight from the benchmark, which holds the data sets
and torch (500+ MiB), every child would report the benchmark's peak. This launcher is a
bare interpreter of about 10 MiB, so the peak it reports is the child's own.
"""

import json
import os
import subprocess
import sys
import time


def main() -> int:
    log_path, cmd = sys.argv[1], sys.argv[2:]
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    print(
        json.dumps(
            {
                "seconds": seconds,
                "returncode": proc.returncode,
                "max_rss_kib": usage.ru_maxrss,  # KiB on Linux
                "user_s": usage.ru_utime,
                "sys_s": usage.ru_stime,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
