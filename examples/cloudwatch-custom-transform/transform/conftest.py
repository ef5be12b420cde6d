"""Make the example's package importable as the image has it: mytransform next to logpipes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
