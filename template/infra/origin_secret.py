#!/usr/bin/env python3
"""The secret CloudFront sends to the WebSocket and REST APIs (header x-origin-verify), so that
their functions refuse calls to the APIs' own execute-api URLs, for both IaC flavors.

  ensure   make it if the stage has none (make deploy-config); an existing one is kept
  rotate   a new one first, the current one kept second (make rotate-origin-secret, which
           then deploys the strategies, which accept both, and then the CDN, which sends the
           new one: no request is refused on the way)
  delete   remove it (make destroy, after the stacks)

It lives in SSM Parameter Store at /<project>/<stage>/deploy/origin/secret, where the stacks
read it when they deploy (AWS::SSM::Parameter::Value), so it is in no template and on no
command line. A String parameter, not a SecureString: CloudFormation cannot read a
SecureString into a CloudFront origin header. Those who may read the account's parameters,
its CloudFront configuration or its stacks (DescribeStacks shows an SSM-typed parameter's
resolved value) can read it; it only shows that a request came through the CDN.
PROJECT, STAGE, OWNER and AWS_REGION come from the Makefile.
"""

import os
import secrets
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError


def name():
    return f"/{os.environ['PROJECT']}/{os.environ.get('STAGE', 'dev')}/deploy/origin/secret"


def new_secret():
    # 43 URL-safe characters (256 bits); never a comma, which separates the accepted values.
    return secrets.token_urlsafe(32)


def current(ssm):
    """The parameter's value, or None when the stage has none."""
    try:
        return ssm.get_parameter(Name=name())["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None


def ensure(ssm):
    if current(ssm) is not None:
        print(f"Origin secret {name()}: kept.")
        return
    stage = os.environ.get("STAGE", "dev")
    ssm.put_parameter(
        Name=name(),
        Value=new_secret(),
        Type="String",
        Description="The header CloudFront sends to the WebSocket and REST APIs; see infra/origin_secret.py",
        Tags=[
            {"Key": "project", "Value": os.environ["PROJECT"]},
            {"Key": "stage", "Value": stage},
            {"Key": "Owner", "Value": os.environ.get("OWNER", "unknown")},
        ],
    )
    print(f"Origin secret {name()}: made.")


def rotate(ssm):
    value = current(ssm)
    if value is None:
        sys.exit(f"error: the stage has no origin secret ({name()}); deploy it first: make deploy-all")
    ssm.put_parameter(Name=name(), Value=f"{new_secret()},{value.split(',')[0]}", Type="String", Overwrite=True)
    print(f"Origin secret {name()}: rotated; the previous one is accepted until the next rotation.")


def delete(ssm):
    try:
        ssm.delete_parameter(Name=name())
        print(f"Origin secret {name()}: deleted.")
    except ssm.exceptions.ParameterNotFound:
        print(f"Origin secret {name()}: none to delete.")


def main():
    commands = {"ensure": ensure, "rotate": rotate, "delete": delete}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit("usage: origin_secret.py ensure|rotate|delete")
    ssm = boto3.client("ssm", region_name=os.environ.get("AWS_REGION"))
    try:
        commands[sys.argv[1]](ssm)
    except (BotoCoreError, ClientError) as e:
        sys.exit(f"error: {e}. Check your AWS credentials and AWS_REGION ({os.environ.get('AWS_REGION')}).")


if __name__ == "__main__":
    main()
