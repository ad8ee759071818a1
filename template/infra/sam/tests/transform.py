#!/usr/bin/env python3
"""Each template of this folder as plain CloudFormation, offline: SAM templates through
samtranslator (what `sam deploy` submits, transformed as CloudFormation would), with the
parameters `make deploy` would pass for a sample account. Writes <out>/<stack>.json for
cfn-lint and checkov, and is imported by the tests (test_*.py).

  python3 tests/transform.py OUT_DIR
"""

import json
import os
import sys
from pathlib import Path

from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
import cdn  # noqa: E402  (the deploy's own CDN template)
import parameters  # noqa: E402  (the deploy's own parameter logic)

ACCOUNT = "123456789012"
ENV = {"STAGE": "test"}
# A new stage: it remembers no settings (infra/project.py).
REMEMBERED = {}
PROJECT = parameters.deploy_model.load(ENV, remembered=REMEMBERED)
# samtranslator fills AWS::Region from the default boto3 session.
os.environ.setdefault("AWS_DEFAULT_REGION", PROJECT["region"])


class NoManagedPolicies(ManagedPolicyLoader):
    """The templates name no managed policies by name, so IAM is never asked."""

    def __init__(self):
        pass

    def load(self):
        return {}


def services():
    """The strategy stacks present: every template besides config and cdn."""
    return sorted(p.stem for p in HERE.glob("*.yaml") if p.stem not in ("config", "cdn"))


def published():
    """What the strategy stacks present would publish in SSM: a plain value as it is, and for a
    value known once deployed (an attribute), one of its kind."""
    values = {}
    for service in services():
        template = yaml_parse((HERE / f"{service}.yaml").read_text())
        for resource in template["Resources"].values():
            name = resource.get("Properties", {}).get("Name", {})
            if resource["Type"] == "AWS::SSM::Parameter" and "Fn::Sub" in name:
                key = name["Fn::Sub"].split("/deploy/")[1]
                value = resource["Properties"]["Value"]
                if not isinstance(value, str):
                    value = sample(key, service)
                values[key] = value
    return values


def sample(key, service):
    """A value of the kind `key` names: an ARN, a URL or a domain."""
    if key.endswith("-arn"):
        return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:app-test-{service}"
    host = f"{key.replace('/', '-')}.example.com"
    return f"https://{host}/" if key.endswith("/url") else host


def stack_parameters(stack):
    return parameters.parameters(stack, ENV, account=ACCOUNT, published=published(), remembered=REMEMBERED)


def cloudformation(stack):
    """The template of `stack` as CloudFormation would see it after the SAM transform."""
    if stack == "cdn":
        _, services, _ = parameters.cdn_parameters(ENV, published(), REMEMBERED)
        return cdn.template(services)
    template = yaml_parse((HERE / f"{stack}.yaml").read_text())
    if "Transform" not in template:
        return template
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # `sam deploy` uploads the zip and puts its S3 location here.
            resource["Properties"]["CodeUri"] = f"s3://sam-artifacts/{stack}.zip"
    return transform(template, stack_parameters(stack), NoManagedPolicies(), passthrough_metadata=True)


def stacks():
    return ["config", *services(), "cdn"]


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for stack in stacks():
        (out / f"{stack}.json").write_text(json.dumps(cloudformation(stack), indent=1))
