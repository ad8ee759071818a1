"""What the project declares, as its deploy model reads it (infra/project.py, run in the
project the rehearsal deploys), so the stand-in's checks name no strategy."""

import json
import subprocess
import sys


def project_model():
    """`python3 infra/project.py show` of the project in the current folder."""
    shown = subprocess.run(
        [sys.executable, "infra/project.py", "show"], capture_output=True, text=True, timeout=60, check=False
    )
    if shown.returncode != 0:
        sys.exit(f"infra/project.py show failed: {shown.stderr.strip()}")
    return json.loads(shown.stdout)
