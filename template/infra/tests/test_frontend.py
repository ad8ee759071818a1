"""`make deploy-frontend` against a local fake AWS (moto's server): SSM read, S3 upload,
CloudFront invalidation, through the real Makefile, script and boto3 clients."""

import json
import os
import socket
import subprocess
import sys
import unittest
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "frontend-test"
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DeployFrontend(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        cls.server.start()
        cls.env = {
            **os.environ,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
        cls.env.pop("AWS_PROFILE", None)
        cls.session = boto3.session.Session(
            region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def client(self, name):
        return self.session.client(name, endpoint_url=self.env["AWS_ENDPOINT_URL"])

    def make(self, target, stage):
        return subprocess.run(
            ["make", "--no-print-directory", target, f"STAGE={stage}", f"PROJECT={PROJECT}"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def deploy_stage(self, stage, strategies):
        """What the stacks of `stage` publish, and its bucket and distribution."""
        ssm, s3 = self.client("ssm"), self.client("s3")
        bucket = f"{PROJECT}-{stage}-web"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="assets/old-123.js", Body=b"stale")
        origin = {
            "Id": "s3",
            "DomainName": f"{bucket}.s3.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""},
        }
        cookies = {"Forward": "none"}
        behavior = {
            "TargetOriginId": "s3",
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": cookies},
        }
        distribution = self.client("cloudfront").create_distribution(
            DistributionConfig={
                "CallerReference": stage,
                "Comment": stage,
                "Enabled": True,
                "Origins": {"Quantity": 1, "Items": [origin]},
                "DefaultCacheBehavior": behavior,
            }
        )["Distribution"]
        published = {
            "deploy/cdn/bucket": bucket,
            "deploy/cdn/distribution-id": distribution["Id"],
            "deploy/cdn/url": f"https://{distribution['DomainName']}",
            "config/model-id": "us.amazon.nova-micro-v1:0",
            "config/max-tokens": "2048",
            **{f"deploy/{name}/path": path for name, path in strategies.items()},
        }
        for name, value in published.items():
            ssm.put_parameter(Name=f"/{PROJECT}/{stage}/{name}", Value=value, Type="String")
        return bucket, distribution["Id"]

    def test_writes_config_uploads_the_app_and_invalidates(self):
        strategies = {"sse": "/sse", "websocket": "/ws"}
        bucket, distribution = self.deploy_stage("one", strategies)
        result = self.make("deploy-frontend", "one")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

        s3 = self.client("s3")
        config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
        self.assertEqual(config["stage"], "one")
        self.assertEqual(config["model"], "us.amazon.nova-micro-v1:0")
        self.assertEqual(config["limits"]["maxTokens"], 2048)
        self.assertEqual(config["strategies"], {name: {"url": path} for name, path in strategies.items()})

        index = s3.head_object(Bucket=bucket, Key="index.html")
        self.assertEqual(index["ContentType"], "text/html")
        self.assertEqual(index["CacheControl"], "no-cache")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assets = [k for k in keys if k.startswith("assets/") and k.endswith(".js")]
        self.assertTrue(assets, keys)
        self.assertIn("immutable", s3.head_object(Bucket=bucket, Key=assets[0])["CacheControl"])
        self.assertNotIn("assets/old-123.js", keys, "files of the previous version are removed")

        invalidations = self.client("cloudfront").list_invalidations(DistributionId=distribution)
        self.assertEqual(invalidations["InvalidationList"]["Quantity"], 1)
        self.assertIn("open https://", result.stdout)

    def test_without_a_cdn_says_what_to_deploy_first(self):
        result = self.make("deploy-frontend", "missing")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("make deploy-cdn STAGE=missing", result.stderr)

    def test_destroy_empties_the_bucket_first(self):
        bucket, _ = self.deploy_stage("two", {"rest": "/api/generate"})
        result = subprocess.run(
            [sys.executable, "infra/frontend.py", "empty"],
            cwd=ROOT,
            env={**self.env, "PROJECT": PROJECT, "STAGE": "two"},
            capture_output=True,
            text=True,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"], 0)


if __name__ == "__main__":
    unittest.main()
