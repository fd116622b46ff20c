import sys

from buglab.cli import main

sys.exit(main())
