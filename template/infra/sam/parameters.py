#!/usr/bin/env python3
"""Parameter overrides for `sam deploy` of one stack, as Key=Value words:

  python3 parameters.py config|<service>|cdn

For cdn, it also writes the CDN's template for those parameters, build/cdn.json (cdn.py).

Everything comes from the deploy model (../project.py: the answers, the services'
declarations, the Makefile's settings and those the stage remembers, checked there) and, at
deploy time, AWS: the account id for the model's inference-profile ARN, and what the strategy
stacks published in SSM for the CDN stack.
"""

import os
import re
import sys
from pathlib import Path

import cdn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import project as deploy_model  # noqa: E402  (infra/project.py)


def load(env, remembered):
    """The deploy model for `env`, with the stage's settings where `env` names none:
    `remembered`, or those the stage keeps in AWS (this flavor reads the model only to deploy)."""
    if remembered is None:
        return deploy_model.load({**env, "KEEP_STAGE_SETTINGS": "1"})
    return deploy_model.load(env, remembered=remembered)


def parameters(stack, env, account=None, published=None, remembered=None):
    """The parameters of `stack`. `account`, `published` (SSM values under the deploy path, by
    relative name) and `remembered` (the stage's settings) are looked up in AWS when not given."""
    if stack == "cdn":
        return cdn_parameters(env, published, remembered)[0]
    project = load(env, remembered)
    common = {"Project": project["name"], "Stage": project["stage"]}
    if stack == "config":
        return {
            **common,
            "ModelId": project["model"]["id"],
            "AlertEmail": project["alertEmail"] or "none",
            "BudgetUsd": project["budgetUsd"] or 0,
            "MaxPromptBytes": project["limits"]["max-prompt-bytes"],
            "MaxTokens": project["limits"]["max-tokens"],
            "DefaultMaxTokens": project["limits"]["default-max-tokens"],
        }
    model = project["model"]
    deploy_path = project["paths"]["deploy"]
    declared = project["services"][stack]
    worker = declared.get("worker", {})
    chosen = {
        **common,
        # CloudFormation would fill ${AWS::AccountId}; a parameter's value is not substituted.
        "ModelArn": model["arn"].replace("${AWS::AccountId}", account or caller_account(project["region"])),
        "FoundationModelArn": model["foundationModelArn"] or "none",
        "Arch": project["arch"],
        "ReservedConcurrency": project["reservedConcurrency"],
        # The names of SSM parameters: CloudFormation reads their values
        # (AWS::SSM::Parameter::Value), so the origin secret is in no template and no command line.
        "AlertsTopicArn": f"{deploy_path}/alerts/topic-arn",
        # For the strategies whose APIs only the CDN may call.
        "OriginSecret": f"{deploy_path}/origin/secret",
        "Tracing": "on" if project["tracing"] else "off",
        "Strategy": declared["strategy"],
        "Route": declared["route"],
        "Timeout": declared["timeout-seconds"],
        "MemorySize": declared["memory-mb"],
        "WorkerFunction": worker.get("function"),
        "WorkerTimeout": worker.get("timeout-seconds"),
        "WorkerMemorySize": worker.get("memory-mb"),
        "WorkerRetries": worker.get("retries"),
        "WorkerMaxEventAge": worker.get("max-event-age-seconds"),
    }
    # CloudFormation refuses a parameter the template does not declare.
    template_parameters = declared_parameters(Path(__file__).resolve().parent / f"{stack}.yaml")
    return {k: v for k, v in chosen.items() if k in template_parameters}


def cdn_parameters(env, published=None, remembered=None):
    """The CDN stack's parameters; the services whose fragments its template needs for them
    (cdn.py), those of the strategies present whose endpoints the stage published; and the
    strategies present it leaves out, each with the names the stage lacks."""
    # Checked before AWS is asked for anything else, so a typo stops the deploy at once.
    project = load(env, remembered)
    if published is None:
        published = read_published(project)
    present = project["services"]
    services = cdn.routed(published, present)
    waiting = {s: cdn.missing(published, s) for s in cdn.fragments() if s in present and s not in services}
    chosen = {
        "Project": project["name"],
        "Stage": project["stage"],
        "Routes": router_routes(project, services),
        **cdn.parameters(services, published),
        "ExtraOrigins": ",".join(project["allowedOrigins"]) or "none",
        # A name: CloudFormation reads the value (AWS::SSM::Parameter::Value).
        "OriginSecret": f"{project['paths']['deploy']}/origin/secret",
        # What infra/waf.py published: the web ACL's ARN, or none.
        "WebAclArn": published.get("waf/acl-arn", "none"),
    }
    # CloudFormation refuses a parameter the template does not declare (OriginSecret, when no
    # strategy routed needs it).
    declared = cdn.template(services)["Parameters"]
    return {k: v for k, v in chosen.items() if k in declared}, services, waiting


def router_routes(project, services):
    """The CDN router's rules for `services`, as the Routes parameter: each one's
    [package.metadata.genai-scaffold.cdn] as prefix:origin-path:exact, the stage filled in, or
    `none` (sam deploy refuses an empty value). A service whose paths need no rewrite has no
    rule."""
    routes = []
    for service, declared in project["services"].items():
        if service in services and "cdn" in declared:
            rule = declared["cdn"]
            origin_path = rule["origin-path"].replace("{stage}", project["stage"])
            routes.append(f"{rule['prefix']}:{origin_path}:{'exact' if rule['exact'] else ''}")
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


def read_published(project):
    path = project["paths"]["deploy"]
    found = {}
    pages = deploy_model.ssm_client(project["region"]).get_paginator("get_parameters_by_path")
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
    except deploy_model.Invalid as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except ValueError as e:
        sys.exit(f"parameters.py: {e}")
    print(" ".join(f"{k}={v}" for k, v in chosen.items()))


if __name__ == "__main__":
    main(sys.argv[1:], os.environ)
