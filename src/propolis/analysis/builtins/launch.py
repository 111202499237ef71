"""Starts one built-in program quickly: ``python -S launch.py <program> <job folder>``.

Python's ``site`` start-up (reading every ``.pth`` file of site-packages, some of which import
modules) can cost more than a small built-in analyzer's whole run. The built-ins need nothing
from it but the server's import path, which the engine passes in ``PROPOLIS_BUILTIN_PATH``:
it is appended after the standard library, in the server's order, so nothing shadows the
standard library. The program then runs as ``__main__`` with ``sys.argv = [program, folder]``
and its own folder first on ``sys.path``, as if it had been started directly.

Only Propolis' own programs are started this way; programs of the Cortex catalogue are run
unchanged by their own interpreter (cortex.md §2.5). Standard library only: nothing else is
importable before the path is set.
"""

import os
import runpy
import sys


def main() -> None:
    program = os.path.abspath(sys.argv[1])
    sys.argv = [program, *sys.argv[2:]]
    sys.path[0] = os.path.dirname(program)
    extra = os.environ.pop("PROPOLIS_BUILTIN_PATH", "")
    sys.path.extend(p for p in extra.split(os.pathsep) if p and p not in sys.path)
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()
