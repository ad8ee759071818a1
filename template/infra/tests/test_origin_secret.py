"""infra/origin_secret.py against moto's server, run as the Makefile runs it: made once and
kept by every later deploy, rotated with the previous value kept second, deleted by destroy."""

import os
import socket
import subprocess
import sys
import unittest
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

SCRIPT = Path(__file__).resolve().parents[1] / "origin_secret.py"
NAME = "/secret-test/dev/deploy/origin/secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OriginSecret(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        cls.moto.start()
        # Nothing of the caller's AWS setup leaks in.
        cls.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cls.env.update(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "PROJECT": "secret-test",
                "STAGE": "dev",
                "OWNER": "dev@example.com",
            }
        )
        cls.ssm = boto3.client(
            "ssm",
            region_name="us-east-1",
            endpoint_url=cls.env["AWS_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def run_script(self, command):
        result = subprocess.run(
            [sys.executable, str(SCRIPT), command], env=self.env, capture_output=True, text=True, timeout=60
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def value(self):
        return self.ssm.get_parameter(Name=NAME)["Parameter"]["Value"]

    def test_made_once_kept_rotated_and_deleted(self):
        self.assertIn("made", self.run_script("ensure"))
        first = self.value()
        self.assertRegex(first, r"^[A-Za-z0-9_-]{43}$")
        tags = self.ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=NAME)["TagList"]
        self.assertIn({"Key": "Owner", "Value": "dev@example.com"}, tags)
        # Every later deploy-config keeps it: a new value would lock out the running functions.
        self.assertIn("kept", self.run_script("ensure"))
        self.assertEqual(self.value(), first)

        self.run_script("rotate")
        new, previous = self.value().split(",")
        self.assertEqual(previous, first)
        self.assertRegex(new, r"^[A-Za-z0-9_-]{43}$")
        self.assertNotEqual(new, first)
        # A second rotation drops the oldest: two values at most.
        self.run_script("rotate")
        newer, kept = self.value().split(",")
        self.assertEqual(kept, new)
        self.assertNotIn(newer, (new, first))

        self.assertIn("deleted", self.run_script("delete"))
        with self.assertRaises(self.ssm.exceptions.ParameterNotFound):
            self.value()
        self.assertIn("none to delete", self.run_script("delete"))

    def test_rotating_a_stage_without_one_says_to_deploy_first(self):
        env = {**self.env, "STAGE": "never-deployed"}
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "rotate"], env=env, capture_output=True, text=True, timeout=60
        )
        self.assertEqual(result.returncode, 1)
        self.assertIn("make deploy-all", result.stderr)


if __name__ == "__main__":
    unittest.main()
