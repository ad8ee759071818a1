"""What a rehearsal left on the stand-in: the stacks of PROJECT-STAGE that still exist, the web
app's bucket, any SSM parameter under /PROJECT/STAGE, the web ACL and any DynamoDB table (a
worker's ledger), one per line; exits 1 when there are
any. Run after `make destroy`.

    python -m genai_standin.stacks PROJECT STAGE
"""

import sys

import boto3


def main():
    project, stage = sys.argv[1:3]
    prefix = f"{project}-{stage}-"
    stacks = boto3.client("cloudformation").describe_stacks()["Stacks"]
    left = [f"stack {s['StackName']} {s['StackStatus']}" for s in stacks if s["StackName"].startswith(prefix)]
    buckets = boto3.client("s3").list_buckets()["Buckets"]
    left += [f"bucket {b['Name']}" for b in buckets if b["Name"].startswith(prefix)]
    # The stacks' own parameters, and the origin secret that make destroy removes by name.
    pages = boto3.client("ssm").get_paginator("get_parameters_by_path")
    for page in pages.paginate(Path=f"/{project}/{stage}", Recursive=True):
        left += [f"parameter {p['Name']}" for p in page["Parameters"]]
    # The web ACL of WAF=on, made by infra/waf.py in us-east-1.
    acls = boto3.client("wafv2", region_name="us-east-1").list_web_acls(Scope="CLOUDFRONT")["WebACLs"]
    left += [f"web ACL {a['Name']}" for a in acls if a["Name"].startswith(prefix)]
    # A worker's ledger, named by CloudFormation after its stack.
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    left += [f"table {t}" for t in tables if t.startswith(prefix)]
    print("\n".join(left) or f"nothing of {prefix}* is left")
    sys.exit(1 if left else 0)


if __name__ == "__main__":
    main()
