#!/usr/bin/env python3
"""The deploy model: the one reader of what a deploy is made of, and its one validator.

  python3 infra/project.py show [--remembered]   the model as JSON (the CDK app reads it)
  python3 infra/project.py answer KEY            one answer of the record (the Makefiles read it)
  python3 infra/project.py remember              the stage keeps the settings of this deploy
  python3 infra/project.py forget                the stage forgets them (make destroy)

It reads the answers the project was generated with (.genai-scaffold.toml), each service's
declaration (`[package.metadata.genai-scaffold]` in services/<service>/Cargo.toml), the
deploy settings (the Makefile's variables, from the environment) and, with --remembered (or
KEEP_STAGE_SETTINGS=1 in the environment), the settings the stage remembers. Every rule a
setting must follow is here, with its message, whatever the IaC flavor: the CDK app, SAM's
parameters.py and cdn.py, preflight.py and the tests read this module or its JSON, and parse
neither the record nor a manifest themselves.

Stage settings: ALLOWED_ORIGINS, ALERT_EMAIL, BUDGET_USD and TRACING are kept per stage, as WAF is. A
deploy that does not name one keeps the stage's value; naming it empty (`ALERT_EMAIL=`) clears
it. The Makefile passes a variable on only when it is given, so "not named" and "empty" differ.
The stage keeps them in SSM under /<project>/<stage>/deploy/settings/, written after a deploy
of the stacks that use them (make deploy-config, make deploy-cdn) and deleted by make destroy.

Only the standard library is needed but for the stage's settings (boto3, installed by `make
infra-tools`), so offline checks and the CDK synth run without AWS.
"""

import json
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The triggers that put a service behind an API Gateway REST API: the app's origin sends its
# route to a method of the API's stage, which invokes the function with a v1 proxy event. With
# `apigateway-rest-streaming` that method's Lambda proxy integration streams the function's
# answer instead of buffering it ("Stream the integration response for your proxy integrations
# in API Gateway": https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html).
REST_STREAMING = "apigateway-rest-streaming"
REST_TRIGGERS = ("apigateway-rest", REST_STREAMING)
# Lambda function names are at most 64 characters (Lambda API reference, CreateFunction,
# FunctionName: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html).
FUNCTION_NAME_LIMIT = 64
# Part of every stack, function and SSM name; the CDN's and the APIs' names too.
STAGE = re.compile(r"[a-z][a-z0-9-]{0,15}")
# An origin as browsers send it: scheme, host and an optional port; no path, no wildcard.
ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")
EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")
REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]")
ARCHS = ("arm64", "x86_64")
# Geography prefixes of cross-Region inference profile ids (eu.amazon.nova-micro-v1:0):
# "Supported Regions and models for inference profiles", Bedrock user guide
# (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html).
PROFILE_PREFIXES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")
# What a service's declaration must say, and what its optional tables must.
DECLARED = ("strategy", "trigger", "transport", "route", "timeout-seconds", "memory-mb", "origin-secret")
DECLARED_TABLES = {
    # `ledger-env`: the variable naming the worker's ledger table (each stack makes the table),
    # where it records every event it runs, as Lambda may deliver an event twice.
    "worker": ("function", "env", "ledger-env", "timeout-seconds", "memory-mb", "retries", "max-event-age-seconds"),
    "cdn": ("prefix", "origin-path", "exact"),
}
# The settings a stage remembers: Make variable, key in the model, SSM name below settings/.
REMEMBERED = (
    ("ALLOWED_ORIGINS", "allowedOrigins", "allowed-origins"),
    ("ALERT_EMAIL", "alertEmail", "alert-email"),
    ("BUDGET_USD", "budgetUsd", "budget-usd"),
    ("TRACING", "tracing", "tracing"),
)
# SSM refuses an empty value: a setting cleared on purpose is kept as this.
CLEARED = "none"
# CloudFormation's account id, filled where a stack deploys (Fn::Sub, or a Ref in CDK).
ACCOUNT_ID = "${AWS::AccountId}"


class Invalid(ValueError):
    """A setting, the record or a declaration breaks a rule; the message says what to do."""


def read_toml(path):
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise Invalid(f"{path} is missing: run this in a project genai-scaffold generated") from None
    except tomllib.TOMLDecodeError as error:
        raise Invalid(f"{path} is not valid TOML: {error}") from None


def record(root=ROOT):
    """The answers of .genai-scaffold.toml that a deploy needs."""
    path = root / ".genai-scaffold.toml"
    answers = read_toml(path)
    for key in ("name", "iac", "region", "model_id", "arch"):
        if not isinstance(answers.get(key), str) or not answers[key]:
            raise Invalid(f"{path} has no {key}: regenerate the project, or add the line `{key} = \"...\"`")
    return answers


def declarations(root=ROOT):
    """Each service's `[package.metadata.genai-scaffold]`, by service folder, checked."""
    found = {}
    for manifest in sorted(root.glob("services/*/Cargo.toml")):
        declared = read_toml(manifest).get("package", {}).get("metadata", {}).get("genai-scaffold")
        if declared is None:
            continue
        where = f"{manifest.relative_to(root)} [package.metadata.genai-scaffold]"
        missing = [key for key in DECLARED if key not in declared]
        for table, keys in DECLARED_TABLES.items():
            if table in declared:
                missing += [f"{table}.{key}" for key in keys if key not in declared[table]]
        if missing:
            raise Invalid(f"{where} lacks {', '.join(missing)}: every service declares them, as the other services' manifests show")
        found[manifest.parent.name] = declared
    return found


def genai_names(root=ROOT):
    """The names the deployment and the code share, as crates/genai/Cargo.toml declares them
    and that crate compiles them in (build.rs): `config-env`, the variable naming the SSM path
    every service reads its configuration from (genai::CONFIG_ENV); `origin-secret-env` and
    `origin-secret-header`, the variable and the header of the origin secret."""
    manifest = root / "crates" / "genai" / "Cargo.toml"
    declared = read_toml(manifest).get("package", {}).get("metadata", {}).get("genai-scaffold", {})
    names = {}
    for key, rule in (("config-env", r"[A-Z][A-Z0-9_]*"), ("origin-secret-env", r"[A-Z][A-Z0-9_]*"), ("origin-secret-header", r"[a-z][a-z0-9-]*")):
        name = declared.get(key)
        if not isinstance(name, str) or not re.fullmatch(rule, name):
            raise Invalid(f"{manifest.relative_to(root)} [package.metadata.genai-scaffold] has no valid `{key}`: regenerate the project, or copy it from a newly generated one")
        names[key] = name
    return names


LIMITS = ("max-prompt-bytes", "max-tokens", "default-max-tokens")


def limits(root=ROOT):
    """The request limits crates/genai/Cargo.toml declares (`[package.metadata.genai-scaffold.limits]`),
    by their SSM names: what a stage's configuration starts with, and what the services apply
    when it names none (that crate compiles them in)."""
    manifest = root / "crates" / "genai" / "Cargo.toml"
    declared = read_toml(manifest).get("package", {}).get("metadata", {}).get("genai-scaffold", {}).get("limits", {})
    found = {}
    for key in LIMITS:
        value = declared.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**32:
            raise Invalid(f"{manifest.relative_to(root)} [package.metadata.genai-scaffold.limits] has no valid `{key}` (a positive integer): copy the table from a newly generated project")
        found[key] = value
    if found["default-max-tokens"] > found["max-tokens"]:
        raise Invalid(f"{manifest.relative_to(root)} [package.metadata.genai-scaffold.limits]: default-max-tokens {found['default-max-tokens']} is above max-tokens {found['max-tokens']}")
    return found


def functions(service, declared):
    """The functions a service's binary is deployed as, by name within the stage: its own, and
    the worker it declares."""
    worker = declared.get("worker")
    return [service] + ([worker["function"]] if worker else [])


def behind_rest_api(declared):
    """Whether a service's declared trigger is a REST API's method, buffered or streamed."""
    return declared["trigger"] in REST_TRIGGERS


def api_path(declared):
    """The path on its API's stage that a service's route reaches, as the CDN's router rewrites
    it (the declaration's `cdn` rule, with the stage as origin path): with `exact`, the stage's
    root; else the route without the rule's prefix. Without a rule, the route itself."""
    rule = declared.get("cdn")
    if not rule:
        return declared["route"]
    return "/" if rule["exact"] else declared["route"][len(rule["prefix"]) :] or "/"


def partition(region):
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def model(model_id, region):
    """The model the services invoke, and the resources `bedrock:InvokeModelWithResponseStream`
    needs for it, in the form of "Prerequisites for inference profiles" in the Bedrock user guide
    (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).

    `arn` is what the functions invoke: the inference profile, the foundation model, or the id
    itself when it is an ARN; `${AWS::AccountId}` in it is CloudFormation's, filled when the
    stack deploys. For a profile, `foundationModelArn` is its foundation model in any region
    (`*`, which also matches the region-less ARN of global profiles), so the grant survives AWS
    adding a destination region; the stacks allow it only through the profile
    (bedrock:InferenceProfileArn). None otherwise: there is no second grant."""
    p = partition(region)
    if model_id.startswith("arn:"):
        return {"id": model_id, "foundationModel": None, "arn": model_id, "foundationModelArn": None}
    prefix, dot, base = model_id.partition(".")
    if not dot or prefix not in PROFILE_PREFIXES:
        arn = f"arn:{p}:bedrock:{region}::foundation-model/{model_id}"
        return {"id": model_id, "foundationModel": model_id, "arn": arn, "foundationModelArn": None}
    return {
        "id": model_id,
        "foundationModel": base,
        "arn": f"arn:{p}:bedrock:{region}:{ACCOUNT_ID}:inference-profile/{model_id}",
        "foundationModelArn": f"arn:{p}:bedrock:*::foundation-model/{base}",
    }


def allowed_origins(value):
    """ALLOWED_ORIGINS as a list, each entry checked, so a typo fails the deploy, not the page."""
    origins = [o.strip().rstrip("/") for o in (value or "").split(",")]
    origins = [o for o in origins if o]
    for origin in origins:
        if not ORIGIN.fullmatch(origin):
            raise Invalid(
                f"ALLOWED_ORIGINS entry '{origin}' is not an origin: write scheme://host[:port] in "
                "lowercase, e.g. http://localhost:5173 (no path, no wildcard)"
            )
    return origins


def alert_email(value):
    if not value:
        return None
    if not EMAIL.fullmatch(value):
        raise Invalid(f"ALERT_EMAIL '{value}' must be one email address")
    return value


def budget_usd(value):
    """A monthly budget in US dollars, or None. Zero is refused rather than read as "no
    budget": `BUDGET_USD=` (empty) is how a stage's budget is removed."""
    if not value:
        return None
    try:
        amount = float(value)
    except ValueError:
        amount = float("nan")
    if not amount > 0 or amount == float("inf"):
        raise Invalid(
            f"BUDGET_USD '{value}' must be a positive amount of US dollars, e.g. 20"
            " (`BUDGET_USD=`, empty, removes the stage's budget)"
        )
    return int(amount) if amount.is_integer() else amount


def tracing(value):
    """TRACING=on: X-Ray traces of the APIs that can record them (off unless asked: they cost
    per trace)."""
    if value not in ("", "on", "off"):
        raise Invalid(f"TRACING '{value}' must be on or off (or empty, the same as off)")
    return value == "on"


def stage_name(value):
    if not STAGE.fullmatch(value):
        raise Invalid(
            f"STAGE '{value}' must start with a lowercase letter and hold only lowercase letters,"
            " digits and dashes, at most 16 characters (e.g. dev, prod, pr-42)"
        )
    return value


def count(name, value, default):
    text = value if value not in (None, "") else str(default)
    if not text.isdigit():
        raise Invalid(f"{name} '{value}' must be 0 or a positive integer")
    return int(text)


def settings_path(name, stage):
    return f"/{name}/{stage}/deploy/settings"


def load(env=None, root=ROOT, remembered=None):
    """The model of a deploy with the environment `env`. `remembered` is the stage's settings
    (SSM name below settings/ to value), used for those `env` does not name; read from AWS when
    `env` has KEEP_STAGE_SETTINGS=1 and none is given."""
    env = os.environ if env is None else env
    answers = record(root)
    services = declarations(root)
    names = genai_names(root)
    name = answers["name"]
    stage = stage_name(env.get("STAGE") or "dev")
    region = env.get("AWS_REGION") or answers["region"]
    if not REGION.fullmatch(region):
        raise Invalid(f"AWS_REGION '{region}' is not a region name, e.g. eu-west-1")
    arch = env.get("ARCH") or answers["arch"]
    if arch not in ARCHS:
        raise Invalid(f"ARCH '{arch}' must be one of {', '.join(ARCHS)}")
    model_id = env.get("MODEL_ID") or answers["model_id"]

    if remembered is None and env.get("KEEP_STAGE_SETTINGS") == "1":
        remembered = read_remembered(name, stage, region)
    settings = {}
    for variable, key, ssm_name in REMEMBERED:
        if variable in env:
            value = env[variable]
        else:
            value = (remembered or {}).get(ssm_name, CLEARED)
            value = "" if value == CLEARED else value
        settings[variable] = value
    budget = budget_usd(settings["BUDGET_USD"])
    email = alert_email(settings["ALERT_EMAIL"])
    if budget is not None and email is None:
        raise Invalid("BUDGET_USD needs ALERT_EMAIL: the budget mails its alerts to that address")

    functions_too_long = [
        f"{name}-{stage}-{f}"
        for service, declared in services.items()
        for f in functions(service, declared)
        if len(f"{name}-{stage}-{f}") > FUNCTION_NAME_LIMIT
    ]
    if functions_too_long:
        longest = max(len(f) for s, d in services.items() for f in functions(s, d))
        room = FUNCTION_NAME_LIMIT - len(name) - 2 - longest
        first = functions_too_long[0]
        raise Invalid(
            f"function name {first} is {len(first)} characters; Lambda allows {FUNCTION_NAME_LIMIT}. "
            + (f"Use a STAGE of at most {room} characters." if room > 0 else "Use a shorter project name (regenerate the project).")
        )

    return {
        "name": name,
        "iac": answers["iac"],
        "stage": stage,
        "region": region,
        "partition": partition(region),
        "arch": arch,
        "owner": env.get("OWNER") or "unknown",
        "model": model(model_id, region),
        "reservedConcurrency": count("RESERVED_CONCURRENCY", env.get("RESERVED_CONCURRENCY"), 10),
        "allowedOrigins": allowed_origins(settings["ALLOWED_ORIGINS"]),
        "alertEmail": email,
        "budgetUsd": budget,
        "tracing": tracing(settings["TRACING"]),
        "lambdaDir": str((root / (env.get("LAMBDA_DIR") or "target/lambda")).resolve()),
        # The variable that gives every function `paths.config`.
        "configEnv": names["config-env"],
        "originSecret": {"env": names["origin-secret-env"], "header": names["origin-secret-header"]},
        # The request limits every stage's configuration starts with, by SSM name.
        "limits": limits(root),
        "paths": {
            "config": f"/{name}/{stage}/config",
            "deploy": f"/{name}/{stage}/deploy",
            "settings": settings_path(name, stage),
        },
        "services": services,
    }


def remembered_values(project):
    """What the stage keeps of this deploy's settings, by SSM name below settings/."""
    values = {
        "allowed-origins": ",".join(project["allowedOrigins"]),
        "alert-email": project["alertEmail"] or "",
        "budget-usd": "" if project["budgetUsd"] is None else str(project["budgetUsd"]),
        "tracing": "on" if project["tracing"] else "off",
    }
    return {name: value or CLEARED for name, value in values.items()}


def ssm_client(region):
    import boto3
    from botocore.config import Config

    # Every call gives up rather than hang.
    config = Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client("ssm", region_name=region, config=config)


def read_remembered(name, stage, region, ssm=None):
    """The stage's settings, by SSM name below settings/; none for a new stage."""
    path = settings_path(name, stage)
    found = {}
    pages = (ssm or ssm_client(region)).get_paginator("get_parameters_by_path")
    for page in pages.paginate(Path=path):
        for p in page["Parameters"]:
            found[p["Name"][len(path) + 1 :]] = p["Value"]
    return found


def remember(project, ssm=None):
    ssm = ssm or ssm_client(project["region"])
    for name, value in remembered_values(project).items():
        ssm.put_parameter(
            Name=f"{project['paths']['settings']}/{name}",
            Value=value,
            Type="String",
            Overwrite=True,
            Description=f"{project['name']} {project['stage']}: kept for the next deploy (infra/project.py)",
        )


def forget(name, stage, region, ssm=None):
    path = settings_path(name, stage)
    (ssm or ssm_client(region)).delete_parameters(Names=[f"{path}/{n}" for _, _, n in REMEMBERED])


def main(args, env, out=sys.stdout):
    usage = "usage: project.py show [--remembered] | answer KEY | remember | forget"
    if not args or args[0] not in ("show", "answer", "remember", "forget"):
        sys.exit(usage)
    command, rest = args[0], args[1:]
    try:
        if command == "show":
            if rest not in ([], ["--remembered"]):
                sys.exit(usage)
            env = {**env, "KEEP_STAGE_SETTINGS": "1"} if rest else env
            json.dump(load(env), out, indent=2)
            out.write("\n")
        elif command == "answer":
            value = record().get(rest[0]) if len(rest) == 1 else None
            if not isinstance(value, str):
                sys.exit(f"{usage}\nKEY: a top-level answer of .genai-scaffold.toml (name, region, iac, ...)")
            print(value, file=out)
        elif command == "remember":
            # What was deployed: the stage's settings where the environment names none.
            remember(load({**env, "KEEP_STAGE_SETTINGS": "1"}))
        else:
            answers = record()
            forget(answers["name"], stage_name(env.get("STAGE") or "dev"), env.get("AWS_REGION") or answers["region"])
    except Invalid as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except Exception as error:
        if not type(error).__module__.startswith("botocore"):
            raise
        print(f"error: {error}\nCheck your AWS credentials (AWS_PROFILE) and region.", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:], os.environ)
