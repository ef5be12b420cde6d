"""Peak resident memory of the current process, for bounds that tests measure in a fresh interpreter.

It reads VmHWM from /proc/self/status, not getrusage's ru_maxrss: Linux carries ru_maxrss over fork and
execve, so a child of a large pytest process reports the parent's peak (690 MiB in a full run), and a bound
asserted on it fails for the parent's size, or, measured as a rise, cannot fail at all. VmHWM belongs to
the address space, which execve makes new.
"""

from __future__ import annotations


def peak_rss_kib() -> int:
    """The highest resident set size this process has had since it started (execve), in KiB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
