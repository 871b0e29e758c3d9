"""`python -m functions.render` is `agentplane`."""

import sys

from functions.render.cli import main

sys.exit(main())
