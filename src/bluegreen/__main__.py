import gc
import sys

gc.disable()  # a short-lived command: no cyclic collection passes while it imports and runs

from bluegreen.cli import main  # noqa: E402

sys.exit(main())
