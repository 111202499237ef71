#!/usr/bin/env python3
"""The responder face of ``analyzers/Rogue/rogue.py`` (same misbehaviours, no cortexutils).

Not a symlink: the catalogue rightly refuses a command that resolves outside its root."""

import runpy
from pathlib import Path

ROGUE = Path(__file__).resolve().parents[2] / "analyzers" / "Rogue" / "rogue.py"

if __name__ == "__main__":
    runpy.run_path(str(ROGUE), run_name="__main__")
