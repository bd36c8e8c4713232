import sys

from scsafety_tui.cli import main

sys.exit(main())
