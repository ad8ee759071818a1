#!/usr/bin/env python3
"""Deletes a deployed strategy's stack after `genai-scaffold remove` took the strategy out of the
project, for both IaC flavors: `make destroy-<service>` runs it for a service the project no
longer has (its IaC is gone with it, so neither `cdk destroy` nor the flavor's own target can
name the stack any more).

  python3 infra/removed.py <service>

The stack is <project>-<stage>-<service> in AWS_REGION (PROJECT, STAGE and AWS_REGION come
from the Makefile, read through the deploy model).
"""

import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

import project as deploy_model

# CloudFormation deletes a strategy's stack in a minute or two; a Lambda function's network
# interfaces can hold it longer. Past this the command stops waiting and says where to look.
WAIT_SECONDS = 15 * 60
POLL_SECONDS = 5


def fail(message, code=1):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def main(args):
    if len(args) != 1:
        fail("say which service's stack to delete: python3 infra/removed.py <service>", 2)
    service = args[0]
    try:
        project = deploy_model.load()
    except deploy_model.Invalid as error:
        fail(str(error), 2)
    if service in project["services"]:
        fail(f"services/{service} is still in this project: `make destroy-{service}` deletes its stack", 2)
    stack = f"{project['name']}-{project['stage']}-{service}"
    region = project["region"]
    cloudformation = boto3.client("cloudformation", region_name=region)
    try:
        found = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if "does not exist" not in str(error):
            fail(f"could not read stack {stack} in {region}: {error}")
        found = []
    if not found:
        fail(
            f"stage {project['stage']} has no stack {stack} in {region}: nothing to delete "
            f"(STAGE=<stage> and AWS_REGION=<region> name another stage)"
        )
    print(f"Deleting {stack} in {region} ...", flush=True)
    try:
        cloudformation.delete_stack(StackName=stack)
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=stack,
            WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": WAIT_SECONDS // POLL_SECONDS},
        )
    except WaiterError as error:
        stacks = (error.last_response or {}).get("Stacks") or [{}]
        status = stacks[0].get("StackStatus", "unknown")
        fail(
            f"{stack} is not deleted ({status}, after waiting up to {WAIT_SECONDS // 60} minutes): its "
            f"events in the CloudFormation console say why; run this again once that is fixed"
        )
    except (BotoCoreError, ClientError) as error:
        fail(f"could not delete {stack}: {error}")
    print(f"Deleted {stack}. Now `make deploy-cdn deploy-frontend` takes it out of the CDN and the web app.")


if __name__ == "__main__":
    main(sys.argv[1:])
