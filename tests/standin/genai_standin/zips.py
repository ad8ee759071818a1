"""Stand-in Lambda zips for the deploy rehearsal: one DIR/<service>/bootstrap.zip per service,
what `make build` (cargo lambda) writes, without the cross build (the matrix builds the
services apart). The rehearsal passes it as the project's LAMBDA_BUILD.

    python -m genai_standin.zips DIR SERVICE...
"""

import sys
import zipfile
from pathlib import Path


def main():
    lambda_dir, services = Path(sys.argv[1]), sys.argv[2:]
    if not services:
        sys.exit("usage: python -m genai_standin.zips DIR SERVICE...")
    for service in services:
        (lambda_dir / service).mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(lambda_dir / service / "bootstrap.zip", "w") as archive:
            archive.writestr("bootstrap", "#!/bin/sh\nexit 1\n")
        print(f"stand-in {lambda_dir / service / 'bootstrap.zip'}")


if __name__ == "__main__":
    main()
