#!/usr/bin/env python3
"""The web app's side of a deployed stage, for both IaC flavors.

  deploy   write /config.json from SSM, upload client/web/dist, invalidate the CDN; the hashed
           assets of earlier releases stay a while for pages opened before (RELEASE_RETENTION)
  empty    delete every object of the web app bucket (make destroy, before the CDN stack)
  outputs  print the app's URL and the strategies it serves
  direct   the app's URL and, as JSON, each API that must refuse a call not made through the
           CDN at its own execute-api URL (make smoke calls each directly and expects 403)

The stacks publish what this needs under /<project>/<stage>/deploy/ in SSM Parameter Store
(the bucket, the distribution, each strategy's path) and the services' settings under
/<project>/<stage>/config/. PROJECT, STAGE and AWS_REGION come from the Makefile.
"""

import json
import mimetypes
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

import project as deploy_model

ROOT = Path(__file__).resolve().parent.parent
# Hashed file names change with their content: cache them for a year. The rest must be
# fetched again after a deploy.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Vite's hashed output, loaded by the page that references it, lazily too (the race chart): the
# only files kept across a deploy. The rest (index.html, config.json, public/) is replaced.
ASSETS = "assets/"
# A page loaded before a deploy still runs the old release, and imports that release's chunks
# when it needs them, possibly hours later. So a deploy keeps the assets of every release that
# was replaced less than RELEASE_RETENTION ago, which always includes the one it replaces. New
# page loads get the new release within the invalidation's minute or two: browsers revalidate
# index.html on every load (no-cache), CloudFront keeps it a second (CachingOptimized's minimum
# TTL) and the deploy invalidates /*. What remains is how long a tab stays open: a week covers
# one left open over a weekend or through a week of deploys, for a few hundred kB per release.
# An older tab fails to load a chunk until reloaded.
RELEASE_RETENTION = timedelta(days=7)
# Each release's assets and when it went live, oldest first. CloudFront serves it like any file
# (it holds asset names the served JS references anyway, and deploy times); `empty` removes it.
RELEASES = ".releases.json"


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
    declared = deploy_model.limits()
    strategies = {
        key.split("/")[0]: {"url": value} for key, value in sorted(deploy.items()) if key.endswith("/path")
    }
    if not strategies:
        fail(f"no strategy stack has published its path under {base}/deploy: run `make deploy-services` first")
    document = {
        "stage": stage,
        "region": region,
        "model": config.get("model-id", ""),
        # The stage's limits, else those the services apply without one (crates/genai's).
        "limits": {
            "maxPromptBytes": int(config.get("max-prompt-bytes", declared["max-prompt-bytes"])),
            "maxTokens": int(config.get("max-tokens", declared["max-tokens"])),
            "defaultMaxTokens": int(config.get("default-max-tokens", declared["default-max-tokens"])),
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
    files = [(p.relative_to(dist).as_posix(), p) for p in dist.rglob("*") if p.is_file()]
    # Assets first: an index.html is never live before the chunks it references.
    for key, file in sorted(files, key=lambda entry: (not entry[0].startswith(ASSETS), entry[0])):
        # config.json and the release record are written below; .vite/ holds the build manifest.
        if key in ("config.json", RELEASES) or key.startswith(".vite/"):
            continue
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        cache = IMMUTABLE if key.startswith(ASSETS) else REVALIDATE
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

    present = set(list_keys(s3, bucket))
    new_assets = {key for key in uploaded if key.startswith(ASSETS)}
    releases, kept_releases = record_release(
        read_releases(s3, bucket), present, new_assets, datetime.now(timezone.utc)
    )
    s3.put_object(
        Bucket=bucket,
        Key=RELEASES,
        Body=json.dumps({"releases": releases}, indent=1).encode(),
        ContentType="application/json",
        CacheControl=REVALIDATE,
    )
    keep = uploaded | {RELEASES} | {key for release in releases for key in release["assets"]}
    stale = sorted(present - keep)
    delete_keys(s3, bucket, stale)
    kept = ({key for release in releases[:-1] for key in release["assets"]} & present) - new_assets
    removed_assets = sum(key.startswith(ASSETS) for key in stale)
    invalidation = session.client("cloudfront").create_invalidation(
        DistributionId=deploy_params["cdn/distribution-id"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time_ns())},
    )
    print(f"uploaded {len(uploaded)} files to s3://{bucket}")
    print(
        f"kept {len(kept)} assets of {kept_releases} earlier release(s) for pages opened before"
        f" (replaced less than {RELEASE_RETENTION.days} days ago); removed {removed_assets} older assets"
        f" and {len(stale) - removed_assets} other stale files"
    )
    print(f"config.json: strategies {', '.join(document['strategies'])}; model {document['model']}")
    print(f"invalidation {invalidation['Invalidation']['Id']} started: the new version is live in a minute or two")
    print(f"open {deploy_params.get('cdn/url', '(cdn/url not published)')}")


def read_releases(s3, bucket):
    """The releases recorded by earlier deploys, oldest first; none if unreadable."""
    try:
        body = s3.get_object(Bucket=bucket, Key=RELEASES)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return []
        raise
    try:
        releases = json.loads(body)["releases"]
        for release in releases:
            deployed = datetime.fromisoformat(release["deployed"])
            deployed = deployed if deployed.tzinfo else deployed.replace(tzinfo=timezone.utc)
            release["deployed"] = deployed.isoformat(timespec="seconds")
            release["assets"] = sorted(set(release["assets"]))
        return releases
    except (ValueError, KeyError, TypeError) as error:
        print(f"warning: s3://{bucket}/{RELEASES} unreadable ({error!r}): starting it anew", file=sys.stderr)
        return []


def record_release(releases, present, new_assets, now):
    """The releases to keep, the new one last, and how many earlier ones are among them.

    Release i was replaced when release i + 1 went live; it is kept while that is less than
    RELEASE_RETENTION ago, so the release this deploy replaces always is. Assets in the bucket
    that no release records (a deploy from before this record, or one that failed before
    writing it) count as part of the release being replaced.
    """
    releases = [dict(release) for release in releases]
    recorded = {key for release in releases for key in release["assets"]}
    unknown = {key for key in present if key.startswith(ASSETS)} - recorded - new_assets
    if unknown and releases:
        releases[-1]["assets"] = sorted(set(releases[-1]["assets"]) | unknown)
    elif unknown:
        releases.append({"deployed": now.isoformat(timespec="seconds"), "assets": sorted(unknown)})
    releases.append({"deployed": now.isoformat(timespec="seconds"), "assets": sorted(new_assets)})
    replaced = [datetime.fromisoformat(release["deployed"]) for release in releases[1:]]
    kept = [
        release for release, replaced_at in zip(releases, replaced) if now - replaced_at < RELEASE_RETENTION
    ]
    return kept + releases[-1:], len(kept)


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
    # What the next deploy keeps unless it names them (infra/project.py).
    kept = [
        f"{variable}={deploy_params.get(f'settings/{name}', deploy_model.CLEARED)}"
        for variable, _, name in deploy_model.REMEMBERED
    ]
    print(f"Kept:       {' '.join(kept)}")


def direct(project, stage, region, session):
    """The stage's URL and, by strategy, the public address of each API whose service declares
    `origin-secret`: the domain its stack published (`<strategy>/domain`) and the path the CDN
    sends the strategy's route to (its `cdn` rule: `origin-path`, then what follows `prefix`,
    as the router rewrites it). Each must answer 403 to a request without the CDN's secret
    (PROTOCOL.md), which only a deployed stage can show."""
    _, deploy_params = stage_config(project, stage, region, session.client("ssm"))
    apis = {}
    for service, declared in deploy_model.declarations().items():
        if not declared["origin-secret"]:
            continue
        key = declared["strategy"]
        domain = deploy_params.get(f"{key}/domain")
        if domain is None:
            fail(f"{service} declares origin-secret but published no {key}/domain: run `make deploy-{service} STAGE={stage}`")
        path = declared["route"]
        rule = declared.get("cdn")
        if rule:
            path = rule["origin-path"].replace("{stage}", stage) + path[len(rule["prefix"]) :]
        scheme = "wss" if declared["transport"] == "websocket-frames" else "https"
        apis[key] = f"{scheme}://{domain}{path}"
    print(json.dumps({"url": deploy_params.get("cdn/url", ""), "apis": apis}, indent=2, sort_keys=True))


def main():
    command = sys.argv[1] if len(sys.argv) == 2 else ""
    if command not in ("deploy", "empty", "outputs", "direct"):
        fail("usage: frontend.py deploy|empty|outputs|direct (PROJECT, STAGE and AWS_REGION from the environment)")
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
        elif command == "direct":
            direct(project, stage, region, session)
        else:
            outputs(project, stage, region, session)
    except (BotoCoreError, ClientError) as error:
        fail(f"{error}\nCheck your AWS credentials (AWS_PROFILE) and region ({region}).")


if __name__ == "__main__":
    main()
