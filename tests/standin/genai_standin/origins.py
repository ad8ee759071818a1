"""What a deployed stage lets browsers in from: its `allowed-origins` parameter, printed; exits
1 unless it is the CDN's URL followed by the origins given. Run after `make deploy-all
ALLOWED_ORIGINS=...`.

    python -m genai_standin.origins PROJECT STAGE ORIGIN...
"""

import sys

import boto3


def main():
    project, stage, *extra = sys.argv[1:]
    ssm = boto3.client("ssm")
    name = f"/{project}/{stage}/config/allowed-origins"
    value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    cdn = ssm.get_parameter(Name=f"/{project}/{stage}/deploy/cdn/url")["Parameter"]["Value"]
    print(f"{name} = {value}")
    sys.exit(0 if value.split(",") == [cdn, *extra] else 1)


if __name__ == "__main__":
    main()
