#!/usr/bin/env python3
"""The web app's side of a deployed stage, for both IaC flavors.

  deploy   write /config.json from SSM, upload client/web/dist, invalidate the CDN
  empty    delete every object of the web app bucket (make destroy, before the CDN stack)
  outputs  print the app's URL and the strategies it serves

The stacks publish what this needs under /<project>/<stage>/deploy/ in SSM Parameter Store
(the bucket, the distribution, each strategy's path) and the services' settings under
/<project>/<stage>/config/. PROJECT, STAGE and AWS_REGION come from the Makefile.
"""

import json
import mimetypes
import os
import sys
import time
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parent.parent
# Hashed file names change with their content: cache them for a year. The rest must be
# fetched again after a deploy.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def parameters(ssm, path):
    """Every parameter under `path`, keyed by its name relative to the path."""
    found = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True):
        for p in page["Parameters"]:
            found[p["Name"][len(path) + 1 :]] = p["Value"]
    return found


def stage_config(project, stage, region, ssm):
    """The deployed stage: its /config.json document and the CDN's bucket and distribution."""
    base = f"/{project}/{stage}"
    deploy = parameters(ssm, f"{base}/deploy")
    if "cdn/bucket" not in deploy:
        fail(f"no CDN found under SSM {base}/deploy in {region}: run `make deploy-cdn STAGE={stage}` first")
    config = parameters(ssm, f"{base}/config")
    strategies = {
        key.split("/")[0]: {"url": value} for key, value in sorted(deploy.items()) if key.endswith("/path")
    }
    if not strategies:
        fail(f"no strategy stack has published its path under {base}/deploy: run `make deploy-services` first")
    document = {
        "stage": stage,
        "region": region,
        "model": config.get("model-id", ""),
        "limits": {
            "maxPromptBytes": int(config.get("max-prompt-bytes", 16384)),
            "maxTokens": int(config.get("max-tokens", 4096)),
            "defaultMaxTokens": int(config.get("default-max-tokens", 512)),
        },
        "strategies": strategies,
    }
    return document, deploy


def deploy(project, stage, region, session):
    dist = ROOT / "client" / "web" / "dist"
    if not (dist / "index.html").is_file():
        fail(f"{dist} has no index.html: build the web app first (make web)")
    document, deploy_params = stage_config(project, stage, region, session.client("ssm"))
    bucket = deploy_params["cdn/bucket"]
    s3 = session.client("s3")
    uploaded = set()
    for file in sorted(p for p in dist.rglob("*") if p.is_file()):
        key = file.relative_to(dist).as_posix()
        # config.json is written below; .vite/ holds the build manifest, not for browsers.
        if key == "config.json" or key.startswith(".vite/"):
            continue
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        cache = IMMUTABLE if key.startswith("assets/") else REVALIDATE
        s3.upload_file(str(file), bucket, key, ExtraArgs={"ContentType": content_type, "CacheControl": cache})
        uploaded.add(key)
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(document, indent=2).encode(),
        ContentType="application/json",
        CacheControl=REVALIDATE,
    )
    uploaded.add("config.json")
    stale = [key for key in list_keys(s3, bucket) if key not in uploaded]
    delete_keys(s3, bucket, stale)
    invalidation = session.client("cloudfront").create_invalidation(
        DistributionId=deploy_params["cdn/distribution-id"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time_ns())},
    )
    print(f"uploaded {len(uploaded)} files to s3://{bucket} ({len(stale)} stale removed)")
    print(f"config.json: strategies {', '.join(document['strategies'])}; model {document['model']}")
    print(f"invalidation {invalidation['Invalidation']['Id']} started: the new version is live in a minute or two")
    print(f"open {deploy_params.get('cdn/url', '(cdn/url not published)')}")


def list_keys(s3, bucket):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def delete_keys(s3, bucket, keys):
    for start in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def empty(project, stage, session):
    ssm = session.client("ssm")
    deploy_params = parameters(ssm, f"/{project}/{stage}/deploy")
    bucket = deploy_params.get("cdn/bucket")
    if bucket is None:
        print("no web app bucket published: nothing to empty")
        return
    s3 = session.client("s3")
    keys = list_keys(s3, bucket)
    delete_keys(s3, bucket, keys)
    print(f"emptied s3://{bucket} ({len(keys)} objects)")


def outputs(project, stage, region, session):
    document, deploy_params = stage_config(project, stage, region, session.client("ssm"))
    url = deploy_params.get("cdn/url", "")
    print(f"App:        {url}")
    for name, entry in document["strategies"].items():
        print(f"{name + ':':<11} {url}{entry['url']}")


def main():
    command = sys.argv[1] if len(sys.argv) == 2 else ""
    if command not in ("deploy", "empty", "outputs"):
        fail("usage: frontend.py deploy|empty|outputs (PROJECT, STAGE and AWS_REGION from the environment)")
    project, stage = os.environ.get("PROJECT"), os.environ.get("STAGE", "dev")
    region = os.environ.get("AWS_REGION")
    if not project or not region:
        fail("PROJECT and AWS_REGION must be set (run this through make)")
    session = boto3.session.Session(region_name=region)
    try:
        if command == "deploy":
            deploy(project, stage, region, session)
        elif command == "empty":
            empty(project, stage, session)
        else:
            outputs(project, stage, region, session)
    except (BotoCoreError, ClientError) as error:
        fail(f"{error}\nCheck your AWS credentials (AWS_PROFILE) and region ({region}).")


if __name__ == "__main__":
    main()
