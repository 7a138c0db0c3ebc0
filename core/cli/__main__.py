"""``python -m core.cli COMMAND ...``: the headless commands without the GUI entry point.

How ClinLens starts its own child processes (e.g. the detector worker) when not frozen.
"""

import sys

from core.cli import main

if __name__ == "__main__":  # importing the module (e.g. the import-contract test) runs nothing
    sys.exit(main())
