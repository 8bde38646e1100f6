"""``python -m syne_autoterm.cli``: how trials on SageMaker and the tests start the CLI."""

import sys

from . import main

sys.exit(main())
