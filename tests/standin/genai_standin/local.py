"""The stand-in inside a test's own process: moto's server with the stand-in's models and
patches (server.install), a session with dummy credentials, and a bucket holding a placeholder
function zip that stacks name as their code (S3Bucket `bucket`, S3Key fn.zip)."""

import io
import socket
import zipfile

import boto3
from moto.server import ThreadedMotoServer

from genai_standin import server


def placeholder_zip():
    """A function's code that never runs: what the rehearsal deploys in place of `make build`."""
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
