#!/usr/bin/env python3
"""Parameter overrides for `sam deploy` of one stack, as Key=Value words:

  python3 parameters.py config|<service>|cdn

For cdn, it also writes the CDN's template for those parameters, build/cdn.json (cdn.py).

From the answers in ../../.genai-scaffold.toml, the environment the Makefile sets (STAGE,
AWS_REGION, ARCH, RESERVED_CONCURRENCY, MODEL_ID, ALLOWED_ORIGINS, ALERT_EMAIL, BUDGET_USD) and, at
deploy time, AWS: the account id
for the model's inference-profile ARN, and what the strategy stacks published in SSM for the
CDN stack.
"""

import os
import re
import sys
import tomllib
from pathlib import Path

import cdn

ROOT = Path(__file__).resolve().parents[2]
# Geography prefixes of cross-Region inference profile ids (us.amazon.nova-micro-v1:0).
PROFILE_PREFIXES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")


def partition(region):
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def bedrock_arns(model_id, region, account):
    """(ModelArn, FoundationModelArn) for model_id, the resources of the two statements
    granting bedrock:InvokeModelWithResponseStream, in the form of "Prerequisites for inference
    profiles" in the Bedrock user guide
    (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).

    ModelArn is what the function invokes: the inference profile, the foundation model, or
    model_id itself when it is an ARN. For a profile, FoundationModelArn is its foundation
    model in any region (`*`, which also matches the region-less ARN of global profiles), so
    the grant survives AWS adding a destination region; the templates allow it only through
    the profile (bedrock:InferenceProfileArn). "none" otherwise: no second statement."""
    p = partition(region)
    if model_id.startswith("arn:"):
        return model_id, "none"
    prefix, _, base = model_id.partition(".")
    if prefix not in PROFILE_PREFIXES:
        return f"arn:{p}:bedrock:{region}::foundation-model/{model_id}", "none"
    return (
        f"arn:{p}:bedrock:{region}:{account}:inference-profile/{model_id}",
        f"arn:{p}:bedrock:*::foundation-model/{base}",
    )


ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")


def allowed_origins(value):
    """ALLOWED_ORIGINS as a list, each entry checked, so a typo fails the deploy, not the page."""
    origins = [o.strip().rstrip("/") for o in (value or "").split(",")]
    origins = [o for o in origins if o]
    for origin in origins:
        if not ORIGIN.fullmatch(origin):
            raise ValueError(
                f"ALLOWED_ORIGINS entry '{origin}' is not an origin: write scheme://host[:port] in "
                "lowercase, e.g. http://localhost:5173 (no path, no wildcard)"
            )
    return origins


def alerts(env):
    """(AlertEmail, BudgetUsd) from ALERT_EMAIL and BUDGET_USD, checked: "none" and "0" when
    not set."""
    email = env.get("ALERT_EMAIL") or "none"
    if email != "none" and not re.fullmatch(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+", email):
        raise ValueError(f"ALERT_EMAIL '{email}' must be one email address")
    budget = env.get("BUDGET_USD") or "0"
    try:
        valid = float(budget) >= 0
    except ValueError:
        valid = False
    if not valid:
        raise ValueError(f"BUDGET_USD '{budget}' must be a positive amount of US dollars, e.g. 20")
    if float(budget) == 0:
        return email, "0"
    if email == "none":
        raise ValueError("BUDGET_USD needs ALERT_EMAIL: the budget mails its alerts to that address")
    return email, budget


def answers():
    with open(ROOT / ".genai-scaffold.toml", "rb") as f:
        return tomllib.load(f)


def parameters(stack, env, account=None, published=None):
    """The parameters of `stack`. `account` and `published` (SSM values under the deploy
    path, by relative name) are looked up in AWS when not given."""
    if stack == "cdn":
        return cdn_parameters(env, published)[0]
    a = answers()
    common = {"Project": a["name"], "Stage": env.get("STAGE", "dev")}
    model_id = env.get("MODEL_ID", a["model_id"])
    region = env.get("AWS_REGION", a["region"])
    if stack == "config":
        email, budget = alerts(env)
        return {**common, "ModelId": model_id, "AlertEmail": email, "BudgetUsd": budget}
    # The names of SSM parameters: CloudFormation reads their values (AWS::SSM::Parameter::Value),
    # so the origin secret is in no template and no command line.
    deploy_path = f"/{common['Project']}/{common['Stage']}/deploy"
    origin_secret = f"{deploy_path}/origin/secret"
    model_arn, foundation_model_arn = bedrock_arns(model_id, region, account or caller_account(region))
    chosen = {
        **common,
        "ModelArn": model_arn,
        "FoundationModelArn": foundation_model_arn,
        "Arch": env.get("ARCH", a["arch"]),
        "ReservedConcurrency": env.get("RESERVED_CONCURRENCY", "10"),
        "AlertsTopicArn": f"{deploy_path}/alerts/topic-arn",
        # For the strategies whose APIs only the CDN may call.
        "OriginSecret": origin_secret,
    }
    # CloudFormation refuses a parameter the template does not declare.
    declared = declared_parameters(Path(__file__).resolve().parent / f"{stack}.yaml")
    return {k: v for k, v in chosen.items() if k in declared}


def cdn_parameters(env, published=None):
    """The CDN stack's parameters; the services whose fragments its template needs for them
    (cdn.py), those of the strategies present whose endpoints the stage published; and the
    strategies present it leaves out, each with the names the stage lacks."""
    a = answers()
    stage = env.get("STAGE", "dev")
    # Checked before AWS is asked anything, so a typo stops the deploy at once.
    extra = ",".join(allowed_origins(env.get("ALLOWED_ORIGINS"))) or "none"
    if published is None:
        published = read_published(a["name"], stage, env.get("AWS_REGION", a["region"]))
    present = declarations()
    services = cdn.routed(published, present)
    waiting = {s: cdn.missing(published, s) for s in cdn.fragments() if s in present and s not in services}
    chosen = {
        "Project": a["name"],
        "Stage": stage,
        "Routes": router_routes(services, stage),
        **cdn.parameters(services, published),
        "ExtraOrigins": extra,
        # A name: CloudFormation reads the value (AWS::SSM::Parameter::Value).
        "OriginSecret": f"/{a['name']}/{stage}/deploy/origin/secret",
        # What infra/waf.py published: the web ACL's ARN, or none.
        "WebAclArn": published.get("waf/acl-arn", "none"),
    }
    # CloudFormation refuses a parameter the template does not declare (OriginSecret, when no
    # strategy routed needs it).
    declared = cdn.template(services)["Parameters"]
    return {k: v for k, v in chosen.items() if k in declared}, services, waiting


def declarations():
    """Each service's [package.metadata.genai-scaffold] table, by service."""
    found = {}
    for manifest in sorted(ROOT.glob("services/*/Cargo.toml")):
        with open(manifest, "rb") as f:
            declared = tomllib.load(f).get("package", {}).get("metadata", {}).get("genai-scaffold", {})
        if "strategy" in declared:
            found[manifest.parent.name] = declared
    return found


def router_routes(services, stage):
    """The CDN router's rules for `services`, as the Routes parameter: each one's
    [package.metadata.genai-scaffold.cdn] as prefix:origin-path:exact, the stage filled in, or
    `none` (sam deploy refuses an empty value). A service whose paths need no rewrite has no
    rule."""
    routes = []
    for service, declared in declarations().items():
        if service in services and "cdn" in declared:
            cdn_rule = declared["cdn"]
            origin_path = cdn_rule["origin-path"].replace("{stage}", stage)
            routes.append(f"{cdn_rule['prefix']}:{origin_path}:{'exact' if cdn_rule['exact'] else ''}")
    return ",".join(routes) or "none"


def declared_parameters(template):
    """The names under the template's top-level `Parameters:`."""
    names, inside = set(), False
    for line in template.read_text().splitlines():
        if not line.startswith(" ") and line.strip():
            inside = line.rstrip() == "Parameters:"
        elif inside and (m := re.match(r"  ([A-Za-z0-9]+):\s*$", line)):
            names.add(m.group(1))
    return names


def caller_account(region):
    import boto3

    return boto3.client("sts", region_name=region).get_caller_identity()["Account"]


def read_published(project, stage, region):
    import boto3

    path = f"/{project}/{stage}/deploy"
    found = {}
    pages = boto3.client("ssm", region_name=region).get_paginator("get_parameters_by_path")
    for page in pages.paginate(Path=path, Recursive=True):
        for p in page["Parameters"]:
            found[p["Name"][len(path) + 1 :]] = p["Value"]
    return found


def main(args, env, template=Path(__file__).resolve().parent / "build" / "cdn.json"):
    """`parameters.py STACK`: prints the stack's parameters; for cdn, writes its template first."""
    if len(args) != 1:
        sys.exit("usage: parameters.py config|<service>|cdn")
    stack = args[0]
    try:
        if stack == "cdn":
            # The template these parameters are for: SSM says now which strategies it routes.
            chosen, services, waiting = cdn_parameters(env)
            cdn.write(services, template)
            for service, names in waiting.items():
                print(
                    f"parameters.py: the CDN leaves {service} out: the stage has not published {', '.join(names)}; "
                    f"`make deploy-{service}`, then `make deploy-cdn`, adds it",
                    file=sys.stderr,
                )
        else:
            chosen = parameters(stack, env)
    except ValueError as e:
        sys.exit(f"parameters.py: {e}")
    print(" ".join(f"{k}={v}" for k, v in chosen.items()))


if __name__ == "__main__":
    main(sys.argv[1:], os.environ)
