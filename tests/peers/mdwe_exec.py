"""Runs a command with MemoryDenyWriteExecute in force, the rule systemd applies
for the unit's MemoryDenyWriteExecute=yes: no mapping may be writable and
executable, and none may become executable later (the kernel's PR_SET_MDWE,
which systemd uses where the kernel has it, else an equivalent seccomp filter).
It stays in force across exec.

    mdwe_exec.py PROGRAM ARGS...  execs PROGRAM (a path) under the rule
"""
import ctypes
import os
import sys

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1

libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    err = ctypes.get_errno()
    sys.exit(f"prctl(PR_SET_MDWE): {os.strerror(err)} (needs Linux 6.3 or later)")

os.execv(sys.argv[1], sys.argv[1:])
