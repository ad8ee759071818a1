#!/usr/bin/env python3
"""Checks before `make deploy-all` creates anything, for both IaC flavors.

  python3 infra/preflight.py     (make preflight; deploy-all runs it first)

Stops with what to do when the credentials or the region do not work, when CDK has not been
bootstrapped in the region, when the account cannot reserve RESERVED_CONCURRENCY for each
service, or when the account has no access to the model. The project, its services and the
settings (STAGE, AWS_REGION, RESERVED_CONCURRENCY, MODEL_ID, ...) are the deploy model's
(infra/project.py), which refuses a setting that breaks a rule, and a function name past
Lambda's limit, before AWS is asked anything. AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>)
points it at a local stand-in.
"""

import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

import project as deploy_model
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


def functions(project):
    """Every function of the project, by full name: each service's own, and its worker."""
    return [
        f"{project['name']}-{project['stage']}-{f}"
        for service, declared in project["services"].items()
        for f in deploy_model.functions(service, declared)
    ]


def error_code(error):
    return error.response.get("Error", {}).get("Code", "")


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


def check_concurrency(session, project):
    names, stage, reserved = list(project["services"]), project["stage"], project["reservedConcurrency"]
    if reserved == 0 or not names:
        return
    lam = session.client("lambda", config=CLIENT_CONFIG)
    try:
        limit = lam.get_account_settings()["AccountLimit"]
        unreserved = limit["UnreservedConcurrentExecutions"]
        # A redeploy: this project's functions give back what they reserve before reserving
        # anew. One function per strategy is capped, whichever of its functions that is.
        own = sum(reserved_by(lam, f) for f in functions(project))
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


def check_model_access(session, model, region):
    """GetFoundationModelAvailability:
    https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetFoundationModelAvailability.html"""
    model_id, base = model["id"], model["foundationModel"]
    if base is None:
        print(f"note: model access not checked for an ARN model id ({model_id})")
        return
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
    try:
        project = deploy_model.load(env)
    except deploy_model.Invalid as error:
        fail(str(error))
    region = project["region"]
    session = boto3.session.Session(region_name=region)
    check_identity(session, project["name"], project["stage"], region)
    if project["iac"] == "cdk":
        check_cdk_bootstrap(session, region)
    check_concurrency(session, project)
    check_model_access(session, project["model"], region)
    print("preflight: ready to deploy")


if __name__ == "__main__":
    try:
        main(os.environ)
    except (BotoCoreError, ClientError) as error:
        fail(f"preflight check failed: {error}")
