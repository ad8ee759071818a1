#!/usr/bin/env python3
"""The deployed stage's functions, for `make dev STAGE=<stage>` (the stage twin).

  python3 infra/twin.py FILE      (PROJECT, STAGE and AWS_REGION from the Makefile)

It reads the stage's stacks (as infra/access.py does) with your credentials, writes nothing to
the account, and writes FILE: each function of each deployed service (its own, its worker's)
under the name its code declares it by, with its name on AWS, environment, timeout, memory,
reserved concurrency and asynchronous settings (Lambda's GetFunctionConfiguration,
GetFunctionConcurrency and GetFunctionEventInvokeConfig: retries, event age, the on-failure
destination); and the CDN's cache behaviours in order, each with the custom headers its origin
adds to the requests it forwards (CloudFront's GetDistributionConfig), such as the origin
secret; and each REST API's methods (API Gateway's GetResources), which the local gateway
answers as API Gateway does a method it lacks; and, for each function, the calls its deployed
role refuses, as infra/access.py decides them with infra/policy.py (its configuration from SSM,
the model, its worker, its ledger, its connections), which the local stack refuses as AWS
would; and each function's deployed code (GetFunction's package, its `bootstrap`) when the
function runs on this machine's architecture, downloaded next to FILE. The local stack (dev/local,
`--stage-file`) then runs that code, or this folder's build of a function deployed for another
architecture (each line printed says which), with them and adds those headers as CloudFront
would, so that a variable the code reads and the stack does not set, a worker's name, a
timeout or an origin header that differ from what the code expects fail on the laptop as they
would on AWS.

FILE holds what the functions' environment and the CDN's origins hold, the origin secret
among them: keep it where cargo's outputs are (make dev writes it under the target folder).
"""

import base64
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import urllib.request
import zipfile
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

import access
import project as deploy_model


def functions(stage):
    """Each deployed function of the project's services, by its declared name."""
    project = stage.project
    prefix = f"{project['name']}-{project['stage']}-"
    deployed = {config["FunctionName"]: config for config in stage.functions().values()}
    found, missing = {}, []
    for service, declared in sorted(project["services"].items()):
        parts = [service] + ([declared["worker"]["function"]] if declared.get("worker") else [])
        for part in parts:
            config = deployed.get(prefix + part)
            if config is None:
                missing.append(f"{prefix + part} (make deploy-{service})")
                continue
            reserved = stage.lambda_.get_function_concurrency(FunctionName=config["FunctionName"])
            found[part] = {
                "name": config["FunctionName"],
                "env": (config.get("Environment") or {}).get("Variables", {}),
                "timeout_seconds": config["Timeout"],
                "memory_mb": config["MemorySize"],
                "reserved_concurrency": reserved.get("ReservedConcurrentExecutions"),
                "asynchronous": asynchronous(stage, config["FunctionName"]),
            }
    return found, missing


def asynchronous(stage, name):
    """How Lambda runs the function's asynchronous invocations as deployed
    (GetFunctionEventInvokeConfig): its retries, the longest an event waits, and the name of the
    function a failed one's record goes to (None: no function). Without a configuration,
    Lambda's defaults: "Lambda retries an asynchronous invocation twice [...] It retains events
    in a queue for up to six hours" and discards them after
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-eventinvokeconfig.html)."""
    try:
        invoke = stage.lambda_.get_function_event_invoke_config(FunctionName=name)
    except stage.lambda_.exceptions.ResourceNotFoundException:
        invoke = {}
    target = ((invoke.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination") or ""
    return {
        "retries": invoke.get("MaximumRetryAttempts", 2),
        "max_event_age_seconds": invoke.get("MaximumEventAgeInSeconds", 6 * 3600),
        "on_failure": target.split(":function:", 1)[1].split(":")[0] if ":function:" in target else None,
    }


# Lambda's names for the architectures a function runs on, by what Python calls this machine's.
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def this_machine():
    """This machine as Lambda names architectures (x86_64 or arm64), `Linux` first: the deployed
    code is a Linux executable, which macOS or Windows cannot run on any architecture."""
    machine = platform.machine()
    return f"{platform.system()} {ARCHITECTURES.get(machine.lower(), machine)}"


def fetch_code(stage, found, folder, machine=None):
    """Sets each found function's `code`: the deployed package's `bootstrap`, downloaded into
    folder, when the function runs on this machine (machine: `Linux x86_64`, `Linux arm64`, as
    this_machine names it) and from a .zip package; else None, with `code_note` saying why the
    local stack runs this folder's build instead.

    The package comes from GetFunction's Code.Location, a presigned URL valid for 10 minutes
    (https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCodeLocation.html), and must
    hash to the function's CodeSha256 (the base64 SHA-256 of the package:
    https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html). Kept by that
    hash, so a second make dev of the same deployment downloads nothing; the packages of
    earlier deployments are removed."""
    machine = machine or this_machine()
    for function in found.values():
        answer = stage.lambda_.get_function(FunctionName=function["name"])
        config, code = answer["Configuration"], answer.get("Code", {})
        architecture = f"Linux {(config.get('Architectures') or ['x86_64'])[0]}"
        function["code"] = None
        if config.get("PackageType", "Zip") != "Zip":
            function["code_note"] = "deployed as a container image, which the local stack cannot run"
            continue
        if "Location" not in code:
            function["code_note"] = "GetFunction gave no location to download its package from"
            continue
        if architecture != machine:
            function["code_note"] = f"deployed for {architecture}, and this machine is {machine}"
            continue
        sha = config["CodeSha256"]
        bootstrap = folder / base64.b64decode(sha).hex() / "bootstrap"
        if not bootstrap.is_file():
            with urllib.request.urlopen(code["Location"], timeout=120) as response:
                package = response.read()
            got = base64.b64encode(hashlib.sha256(package).digest()).decode()
            if got != sha:
                raise RuntimeError(f"the package downloaded for {function['name']} hashes to {got}, not its CodeSha256 {sha}: run make dev STAGE=... again")
            with zipfile.ZipFile(io.BytesIO(package)) as archive:
                if "bootstrap" not in archive.namelist():
                    function["code_note"] = "its package has no bootstrap (not a provided.* runtime's)"
                    continue
                data = archive.read("bootstrap")
            bootstrap.parent.mkdir(parents=True, exist_ok=True)
            partial = bootstrap.with_suffix(".partial")
            partial.write_bytes(data)
            partial.chmod(0o755)
            partial.replace(bootstrap)
        function["code"] = str(bootstrap.resolve())
    # The packages of earlier deployments, which nothing runs any more.
    kept = {Path(f["code"]).parent.name for f in found.values() if f["code"]}
    for old in folder.iterdir() if folder.is_dir() else ():
        if old.name not in kept:
            shutil.rmtree(old, ignore_errors=True)


class Refusals(access.Report):
    """infra/access.py's checks of the calls each function makes with its role, kept by the
    calling function instead of printed: every check's edge starts with its caller's name."""

    def __init__(self):
        super().__init__(io.StringIO())
        self.by_function = {}

    def check(self, request, edge, identity=(), resource=()):
        refused = self.refused
        super().check(request, edge, identity, resource)
        if self.refused > refused:
            caller = edge.split(" → ", 1)[0]
            message = f"User: {request.who()} is not authorized to perform: {request.action} on resource: {request.resource}"
            self.by_function.setdefault(caller, []).append({"action": request.action, "resource": request.resource, "message": message})


def refused_calls(stage):
    """The calls each deployed function's role refuses, by its name on AWS."""
    report = Refusals()
    functions = stage.functions()
    access.model_calls(stage, report, functions)
    access.worker_calls(stage, report, functions)
    websockets = access.apis_to_functions(stage, Refusals())
    access.connection_posts(stage, report, functions, websockets)
    return report.by_function


def rest_methods(stage):
    """Each REST service's deployed methods, `METHOD /path`, from the API in its own stack,
    whether its integration buffers or streams: the local gateway refuses a method the API
    lacks either way."""
    project = stage.project
    prefix = f"{project['name']}-{project['stage']}-"
    found = {}
    for service, declared in sorted(project["services"].items()):
        if not deploy_model.behind_rest_api(declared):
            continue
        found[service] = sorted(
            f"{method} {resource['path']}"
            for api in stage.of("AWS::ApiGateway::RestApi", prefix + service)
            for page in stage.apigateway.get_paginator("get_resources").paginate(restApiId=api)
            for resource in page["items"]
            for method in resource.get("resourceMethods", {})
        )
    return found


def behaviours(stage):
    """The distribution's cache behaviours in the order CloudFront matches them (the default,
    `*`, last), each with the custom headers its origin adds to every request it forwards."""
    found = []
    for distribution in stage.of("AWS::CloudFront::Distribution"):
        config = stage.cloudfront.get_distribution_config(Id=distribution)["DistributionConfig"]
        headers = {
            origin["Id"]: {h["HeaderName"]: h["HeaderValue"] for h in (origin.get("CustomHeaders") or {}).get("Items", [])}
            for origin in config["Origins"].get("Items", [])
        }
        ordered = [*(config.get("CacheBehaviors") or {}).get("Items", []), {**config["DefaultCacheBehavior"], "PathPattern": "*"}]
        found += [{"path_pattern": b["PathPattern"], "origin_headers": headers.get(b["TargetOriginId"], {})} for b in ordered]
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 infra/twin.py FILE")
    project, stage, where = access.open_stage(", or run make dev without STAGE")
    try:
        found, missing = functions(stage)
        cdn = behaviours(stage)
        methods = rest_methods(stage)
        refused = refused_calls(stage)
        for function in found.values():
            function["refused"] = refused.get(function["name"], [])
        if missing:
            print(f"error: {where} lacks the functions {', '.join(missing)}: deploy them, or run make dev without STAGE", file=sys.stderr)
            sys.exit(2)
        out = Path(sys.argv[1])
        out.parent.mkdir(parents=True, exist_ok=True)
        fetch_code(stage, found, out.parent / f"{out.stem}-code")
    except (BotoCoreError, ClientError) as error:
        access.cannot_read(error, project)
    except (OSError, RuntimeError, zipfile.BadZipFile) as error:
        print(f"error: cannot fetch {where}'s deployed code: {error}", file=sys.stderr)
        sys.exit(1)
    # Readable by you alone: it holds the origin secret.
    with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(json.dumps({"stage": project["stage"], "region": project["region"], "functions": found, "behaviours": cdn, "rest_methods": methods}, indent=2) + "\n")
    print(f"{where}: {', '.join(f['name'] for f in found.values())} → {out}")
    for function in found.values():
        if function["code"]:
            print(f"  {function['name']} runs its deployed code ({function['code']})")
        else:
            print(f"  {function['name']} runs this folder's build: {function['code_note']}")
    for function in found.values():
        for call in function["refused"]:
            print(f"refused as deployed: {function['name']} → {call['action']} on {call['resource']} (make check-access says which statement)")
    if not cdn:
        print(f"{where} has no CDN (make deploy-cdn): requests reach the functions without its origin headers, which a function guarded by the origin secret refuses")


if __name__ == "__main__":
    main()
