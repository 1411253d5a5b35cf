import sys

from rllib_safe.cli import main

sys.exit(main())
