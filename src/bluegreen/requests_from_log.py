"""`python -m bluegreen.requests_from_log LOG`: a requests file from a Varnish log (docs/compare.md).

The code lives in bluegreen.compare.harvest; this name stays for the command line."""

import sys

from bluegreen.compare.harvest import main

if __name__ == "__main__":
    sys.exit(main())
