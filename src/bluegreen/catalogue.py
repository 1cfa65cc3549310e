"""`python -m bluegreen.catalogue URL`: print a database's catalogue (docs/schema.md).

The code lives in bluegreen.schema.catalogue; this name stays for the command line."""

import sys

from bluegreen.schema.catalogue import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
