"""``python -m yomitori.cli`` (what ``torchrun -m yomitori.cli train ...`` runs in each worker)."""

import sys

from yomitori.cli import main

sys.exit(main())
