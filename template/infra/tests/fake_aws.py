"""moto's server on a free loopback port, and the environment that points a script run as the
Makefile runs it (a subprocess) at it: dummy credentials, nothing of the caller's AWS setup."""

import logging
import os
import socket
import subprocess
import sys

import boto3
from moto.server import ThreadedMotoServer


class FakeAws:
    """Start it in setUpClass, stop it in tearDownClass."""

    def __init__(self, **env):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # One line per request otherwise, between the tests' own output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                **env,
            }
        )

    def client(self, service, region="us-east-1"):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def run(self, script, *args, **env):
        """Runs `script` with `args` and this environment (plus `env`); at most a minute."""
        return subprocess.run(
            [sys.executable, str(script), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stop(self):
        self.server.stop()
