#!/usr/bin/env python3
"""Checks before `make deploy-all` creates anything, for both IaC flavors.

  python3 infra/preflight.py     (make preflight; deploy-all runs it first)

Stops with what to do when the credentials or the region do not work, when CDK has not been
bootstrapped in the region, when the account cannot reserve RESERVED_CONCURRENCY for each
service, or when the account has no access to the model. PROJECT, STAGE, AWS_REGION,
RESERVED_CONCURRENCY and MODEL_ID come from the Makefile's environment, defaulting to the
answers in ../.genai-scaffold.toml. Services are the folders services/*/Cargo.toml.
AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>) points it at a local stand-in.
"""

import os
import sys
import tomllib
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parent.parent
# Geography prefixes of cross-Region inference profile ids (us.amazon.nova-micro-v1:0), as in
# infra/sam/parameters.py.
PROFILE_PREFIXES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")
# Written by `cdk bootstrap` (default qualifier hnb659fds); every synthesized stack reads it
# (its BootstrapVersion parameter), so a deploy without it fails after the build. See
# "AWS CDK bootstrapping": https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping.html
CDK_BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
# Lambda keeps this much of the regional concurrency unreserved, for functions without a
# reservation: "Configuring reserved concurrency for a function",
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
UNRESERVED_MINIMUM = 100
# Every call gives up rather than hang.
CLIENT_CONFIG = Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
# What an endpoint answers for an operation it does not have.
UNKNOWN = ("UnknownOperationException", "UnknownOperation", "NotImplemented", "InvalidAction", "404")


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def warn(message):
    print(f"warning: {message}", file=sys.stderr)


def answers():
    with open(ROOT / ".genai-scaffold.toml", "rb") as f:
        return tomllib.load(f)


def services():
    return sorted(p.parent.name for p in ROOT.glob("services/*/Cargo.toml"))


def functions(service):
    """The functions a service's binary is deployed as: its own, and the worker its manifest
    declares ([package.metadata.genai-scaffold.worker], e.g. the WebSocket strategy's generation
    function)."""
    with open(ROOT / "services" / service / "Cargo.toml", "rb") as f:
        package = tomllib.load(f).get("package", {})
    worker = package.get("metadata", {}).get("genai-scaffold", {}).get("worker")
    return [service] + ([worker["function"]] if worker else [])


# Lambda function names are at most 64 characters (Lambda API reference, CreateFunction,
# FunctionName: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html).
FUNCTION_NAME_LIMIT = 64


def check_function_names(project, stage, names):
    """Every function is named <project>-<stage>-<function>; a long pair fails the deploy late."""
    every = [f"{project}-{stage}-{f}" for name in names for f in functions(name)]
    too_long = [n for n in every if len(n) > FUNCTION_NAME_LIMIT]
    if too_long:
        longest = max(len(f) for name in names for f in functions(name))
        room = FUNCTION_NAME_LIMIT - len(project) - 2 - longest
        fail(
            f"function name {too_long[0]} is {len(too_long[0])} characters; Lambda allows"
            f" {FUNCTION_NAME_LIMIT}. "
            + (f"Use a STAGE of at most {room} characters." if room > 0 else "Use a shorter project name (regenerate the project).")
        )


def error_code(error):
    return error.response.get("Error", {}).get("Code", "")


def base_model_id(model_id):
    """The foundation model of an inference profile id, or model_id itself."""
    prefix, dot, base = model_id.partition(".")
    return base if dot and prefix in PROFILE_PREFIXES else model_id


def check_identity(session, project, stage, region):
    try:
        me = session.client("sts", config=CLIENT_CONFIG).get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        fail(
            f"no working AWS credentials for {region} ({error}). Set AWS_PROFILE=<profile> (after"
            " `aws sso login --profile <profile>` for SSO), or AWS_ACCESS_KEY_ID,"
            " AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and AWS_REGION if not"
            f" {region}; `aws sts get-caller-identity` must work."
        )
    print(f"deploying {project} stage {stage} to account {me['Account']} as {me['Arn']} in {region}")


def check_cdk_bootstrap(session, region):
    try:
        session.client("ssm", config=CLIENT_CONFIG).get_parameter(Name=CDK_BOOTSTRAP_PARAMETER)
    except ClientError as error:
        if error_code(error) != "ParameterNotFound":
            raise
        fail(
            f"CDK is not bootstrapped in {region} (no SSM parameter {CDK_BOOTSTRAP_PARAMETER}):"
            " run `make bootstrap` first (once per account and region)."
        )


def reserved_by(lam, function_name):
    """What function_name reserves now: 0 when it does not exist or reserves nothing."""
    try:
        return lam.get_function_concurrency(FunctionName=function_name).get("ReservedConcurrentExecutions", 0)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return 0
        raise


def check_concurrency(session, project, stage, names, reserved):
    if reserved == 0 or not names:
        return
    lam = session.client("lambda", config=CLIENT_CONFIG)
    try:
        limit = lam.get_account_settings()["AccountLimit"]
        unreserved = limit["UnreservedConcurrentExecutions"]
        # A redeploy: this project's functions give back what they reserve before reserving
        # anew. One function per strategy is capped, whichever of its functions that is.
        own = sum(reserved_by(lam, f"{project}-{stage}-{f}") for name in names for f in functions(name))
    except ClientError as error:
        if error_code(error) in DENIED:
            warn(f"concurrency not verified (Lambda answered {error_code(error)}); deploying anyway")
            return
        raise
    wanted = len(names) * reserved
    available = unreserved + own
    if available - wanted >= UNRESERVED_MINIMUM:
        return
    fits = max(0, (available - UNRESERVED_MINIMUM) // len(names))
    short = wanted + UNRESERVED_MINIMUM - available
    # Keep a cap: a smaller reservation where one fits; where none does (a new account), the
    # account's own quota is the cap of every function together.
    quota = limit.get("ConcurrentExecutions")
    instead = (
        f"RESERVED_CONCURRENCY={fits}`"
        if fits
        else "RESERVED_CONCURRENCY=0` (nothing reserved: the account's quota"
        + (f" of {quota}" if quota is not None else "")
        + " concurrent executions then caps the functions together; WAF=on adds a cap per address)"
    )
    fail(
        f"{len(names)} functions x RESERVED_CONCURRENCY={reserved} reserve {wanted}, but the account"
        f" has {unreserved} unreserved concurrent executions in {session.region_name}"
        f" (+{own} this stage's functions reserve now) and Lambda keeps {UNRESERVED_MINIMUM}"
        f" unreserved. Either deploy with less: `make deploy-all STAGE={stage} {instead}, or"
        " ask for more: Service Quotas console, AWS Lambda, \"Concurrent executions\", request an"
        f" increase of at least {short}"
        + (f" (to {quota + short})." if quota is not None else ".")
    )


def check_model_access(session, model_id, region):
    """GetFoundationModelAvailability:
    https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetFoundationModelAvailability.html"""
    if model_id.startswith("arn:"):
        print(f"note: model access not checked for an ARN model id ({model_id})")
        return
    base = base_model_id(model_id)
    bedrock = session.client("bedrock", config=CLIENT_CONFIG)
    try:
        found = bedrock.get_foundation_model_availability(modelId=base)
    except AttributeError:
        warn(f"model access to {base} not verified (this boto3 lacks GetFoundationModelAvailability)")
        return
    except ClientError as error:
        code = error_code(error)
        if code == "ResourceNotFoundException":
            fail(f"Bedrock has no model {base} in {region}: check MODEL_ID ({model_id}) and AWS_REGION.")
        if code in DENIED or code in UNKNOWN:
            warn(
                f"model access to {base} not verified ({code}: the deployer may lack"
                " bedrock:GetFoundationModelAvailability); deploying anyway"
            )
            return
        raise
    problems = []
    if found.get("authorizationStatus") != "AUTHORIZED":
        problems.append("this account is not authorized to use it")
    if found.get("entitlementAvailability") != "AVAILABLE":
        problems.append("this account has no entitlement to it")
    if found.get("agreementAvailability", {}).get("status") == "NOT_AVAILABLE":
        problems.append("its agreement has not been accepted")
    if found.get("regionAvailability") != "AVAILABLE":
        fail(f"model {base} ({model_id}) is not offered in {region}: choose another MODEL_ID or AWS_REGION.")
    if problems:
        fail(
            f"no access to model {base} ({model_id}) in {region}: {'; '.join(problems)}. Request"
            f" access in the Bedrock console (region {region}), Model access, then run this again."
        )


def main(env):
    a = answers()
    project = env.get("PROJECT") or a["name"]
    stage = env.get("STAGE") or "dev"
    region = env.get("AWS_REGION") or a["region"]
    model_id = env.get("MODEL_ID") or a["model_id"]
    try:
        reserved = int(env.get("RESERVED_CONCURRENCY") or "10")
    except ValueError:
        reserved = -1
    if reserved < 0:
        fail(f"RESERVED_CONCURRENCY '{env.get('RESERVED_CONCURRENCY')}' must be 0 or a positive integer")
    check_function_names(project, stage, services())
    session = boto3.session.Session(region_name=region)
    check_identity(session, project, stage, region)
    if a.get("iac") == "cdk":
        check_cdk_bootstrap(session, region)
    check_concurrency(session, project, stage, services(), reserved)
    check_model_access(session, model_id, region)
    print("preflight: ready to deploy")


if __name__ == "__main__":
    try:
        main(os.environ)
    except (BotoCoreError, ClientError) as error:
        fail(f"preflight check failed: {error}")
