"""The stand-in inside a test's own process: moto's server with the stand-in's models and
patches (server.install), a session with dummy credentials, and a bucket holding a placeholder
function zip that stacks name as their code (S3Bucket `bucket`, S3Key fn.zip)."""

import io
import socket
import sys
import tomllib
import zipfile
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from genai_standin import server


def placeholder_zip():
    """A function's code that never runs, for the stacks of the stand-in's own tests."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\nexit 1\n")
    return buffer.getvalue()


def start(region, bucket):
    """Starts the stand-in on a free loopback port; returns (the server, to stop(), a session
    in `region`, its endpoint URL). The test modules share moto's backends in one process, so
    each uses a region of its own."""
    server.install()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://localhost:{port}"
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket=bucket, Key="fn.zip", Body=placeholder_zip())
    return moto, session, endpoint


def import_template_infra():
    """Lets a test import the template's deploy scripts (template/infra: access, twin, ...)."""
    infra = str(Path(__file__).resolve().parents[3] / "template" / "infra")
    if infra not in sys.path:
        sys.path.insert(0, infra)


def genai_names():
    """The names the code and the deployment share, as the template's crates/genai declares
    them (infra/project.py reads them from a generated project the same way)."""
    manifest = Path(__file__).resolve().parents[3] / "template" / "crates" / "genai" / "Cargo.toml.liquid"
    return tomllib.loads(manifest.read_text())["package"]["metadata"]["genai-scaffold"]


def project(region, services):
    """A deploy model (infra/project.py's shape) of the SAM project `app`, stage dev, in
    `region`, configured under /app/dev/config, with `services` as declared."""
    names = genai_names()
    return {
        "name": "app",
        "stage": "dev",
        "region": region,
        "partition": "aws",
        "iac": "sam",
        "configEnv": names["config-env"],
        "originSecret": {"env": names["origin-secret-env"], "header": names["origin-secret-header"]},
        "paths": {"config": "/app/dev/config"},
        "services": services,
    }
