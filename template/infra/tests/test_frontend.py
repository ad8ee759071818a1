"""`make deploy-frontend` against a local fake AWS (moto's server): SSM read, S3 upload,
CloudFront invalidation, through the real Makefile, script and boto3 clients."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import project as deploy_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "frontend-test"
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeAws(unittest.TestCase):
    """A moto server for the class, and what the stacks of a stage publish in it."""

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
        s3.put_object(Bucket=bucket, Key="assets/old-123.js", Body=b"previous release")
        s3.put_object(Bucket=bucket, Key="old-page.html", Body=b"stale")
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


class DeployFrontend(FakeAws):
    def test_writes_config_uploads_the_app_and_invalidates(self):
        strategies = {"alpha": "/alpha", "beta": "/beta"}
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
        self.assertIn("assets/old-123.js", keys, "the previous version's assets stay for open pages")
        self.assertNotIn("old-page.html", keys, "its other files are removed")

        invalidations = self.client("cloudfront").list_invalidations(DistributionId=distribution)
        self.assertEqual(invalidations["InvalidationList"]["Quantity"], 1)
        self.assertIn("open https://", result.stdout)

    def test_without_a_cdn_says_what_to_deploy_first(self):
        result = self.make("deploy-frontend", "missing")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("make deploy-cdn STAGE=missing", result.stderr)

    def test_destroy_empties_the_bucket_first(self):
        bucket, _ = self.deploy_stage("two", {"gamma": "/api/gamma"})
        result = subprocess.run(
            [sys.executable, "infra/frontend.py", "empty"],
            cwd=ROOT,
            env={**self.env, "PROJECT": PROJECT, "STAGE": "two"},
            capture_output=True,
            text=True,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"], 0)


class Releases(FakeAws):
    """Redeploys keep the hashed assets that pages opened before still import, for a while.

    frontend.py runs from a copy in a temporary project, so each release's dist is made up here
    (no npm build)."""

    def setUp(self):
        temporary = tempfile.TemporaryDirectory()
        self.addCleanup(temporary.cleanup)
        self.project = Path(temporary.name)
        (self.project / "infra").mkdir()
        for script in ("frontend.py", "project.py"):
            shutil.copy(ROOT / "infra" / script, self.project / "infra" / script)
        # The limits /config.json falls back on (infra/project.py reads them there).
        (self.project / "crates" / "genai").mkdir(parents=True)
        shutil.copy(ROOT / "crates" / "genai" / "Cargo.toml", self.project / "crates" / "genai")

    def frontend(self, command, stage):
        result = subprocess.run(
            [sys.executable, "infra/frontend.py", command],
            cwd=self.project,
            env={**self.env, "PROJECT": PROJECT, "STAGE": stage},
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def build(self, release):
        """A dist as Vite makes it: the entry and a lazy chunk named by release, a shared style."""
        dist = self.project / "client" / "web" / "dist"
        shutil.rmtree(dist, ignore_errors=True)
        (dist / "assets").mkdir(parents=True)
        (dist / ".vite").mkdir()
        files = {
            "index.html": f'<script type="module" src="/assets/index-{release}.js"></script>',
            f"assets/index-{release}.js": f'import("./RaceChart-{release}.js") // release {release}',
            f"assets/RaceChart-{release}.js": f"chart of release {release}",
            "assets/style-shared.css": "body {}",
            ".vite/manifest.json": "{}",
        }
        for name, text in files.items():
            (dist / name).write_text(text)
        return [f"assets/index-{release}.js", f"assets/RaceChart-{release}.js"]

    def deploy(self, stage, release):
        chunks = self.build(release)
        return chunks, self.frontend("deploy", stage)

    def keys(self, bucket):
        pages = self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {o["Key"] for page in pages for o in page.get("Contents", [])}

    def backdate(self, bucket, *days):
        """Say the recorded releases, oldest first, went live that many days ago."""
        s3 = self.client("s3")
        record = json.loads(s3.get_object(Bucket=bucket, Key=".releases.json")["Body"].read())
        self.assertEqual(len(record["releases"]), len(days), record)
        now = datetime.now(timezone.utc)
        for release, ago in zip(record["releases"], days):
            release["deployed"] = (now - timedelta(days=ago)).isoformat()
        s3.put_object(Bucket=bucket, Key=".releases.json", Body=json.dumps(record).encode())

    def test_a_redeploy_keeps_the_assets_pages_opened_before_import(self):
        bucket, _ = self.deploy_stage("releases", {"alpha": "/alpha"})
        s3 = self.client("s3")
        first, _ = self.deploy("releases", "1")
        second, out = self.deploy("releases", "2")

        keys = self.keys(bucket)
        self.assertLessEqual({*first, *second, "assets/style-shared.css", "assets/old-123.js"}, keys)
        self.assertNotIn(".vite/manifest.json", keys)
        # A tab opened on release 1 imports its chart after release 2 went live.
        chart = s3.get_object(Bucket=bucket, Key="assets/RaceChart-1.js")["Body"].read()
        self.assertEqual(chart, b"chart of release 1")
        index = s3.get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()
        self.assertIn("index-2.js", index, "index.html is replaced")
        # Release 1's two chunks, and the asset found before any release was recorded.
        self.assertIn("kept 3 assets of 2 earlier release(s)", out)

        # Release 1 was replaced minutes ago: kept through the next deploy too.
        third, _ = self.deploy("releases", "3")
        self.assertLessEqual({*first, *second, *third}, self.keys(bucket))

        # Say the releases before 3 were replaced 20 and 8 days ago, release 3 a day ago.
        self.backdate(bucket, 30, 20, 8, 1)
        fourth, out = self.deploy("releases", "4")
        keys = self.keys(bucket)
        self.assertTrue(keys.isdisjoint({*first, "assets/old-123.js"}), keys)
        self.assertLessEqual({*second, *third, *fourth, "assets/style-shared.css"}, keys)
        self.assertIn("removed 3 older assets", out)

        # The release a deploy replaces stays however old it is.
        self.backdate(bucket, 30, 30, 30)
        fifth, out = self.deploy("releases", "5")
        keys = self.keys(bucket)
        self.assertTrue(keys.isdisjoint({*second, *third}), keys)
        self.assertEqual(
            keys,
            {*fourth, *fifth, "assets/style-shared.css", "index.html", "config.json", ".releases.json"},
        )
        self.assertIn("kept 2 assets of 1 earlier release(s)", out)

    def test_destroy_removes_every_release_and_their_record(self):
        bucket, _ = self.deploy_stage("emptied", {"gamma": "/api/gamma"})
        self.deploy("emptied", "1")
        self.deploy("emptied", "2")
        self.assertIn(".releases.json", self.keys(bucket))
        self.assertIn("assets/RaceChart-1.js", self.keys(bucket))
        out = self.frontend("empty", "emptied")
        self.assertEqual(self.keys(bucket), set())
        self.assertIn("emptied s3://", out)


class Direct(FakeAws):
    """`frontend.py direct`, what `make smoke` reads to call each API past the CDN: the public
    address of every API whose service declares `origin-secret`, from what its stack published."""

    def direct(self, stage):
        return subprocess.run(
            [sys.executable, "infra/frontend.py", "direct"],
            cwd=ROOT,
            env={**self.env, "PROJECT": PROJECT, "STAGE": stage},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def test_each_guarded_api_at_its_execute_api_url_and_no_other(self):
        declared = deploy_model.declarations(ROOT)
        guarded = {d["strategy"]: d for d in declared.values() if d["origin-secret"]}
        self.deploy_stage("direct", {d["strategy"]: d["route"] for d in declared.values()})
        ssm = self.client("ssm")
        for key in guarded:
            domain = f"{key}-id.execute-api.{REGION}.amazonaws.com"
            ssm.put_parameter(Name=f"/{PROJECT}/direct/deploy/{key}/domain", Value=domain, Type="String")
        result = self.direct("direct")
        self.assertEqual(result.returncode, 0, result.stderr)
        document = json.loads(result.stdout)
        self.assertTrue(document["url"].startswith("https://"), document)
        self.assertEqual(set(document["apis"]), set(guarded))
        for key, url in document["apis"].items():
            scheme = "wss" if guarded[key]["transport"] == "websocket-frames" else "https"
            self.assertTrue(url.startswith(f"{scheme}://{key}-id.execute-api.{REGION}.amazonaws.com/"), url)
            # The API's stage, where the CDN's rule sends the route, not the route itself.
            rule = guarded[key].get("cdn")
            if rule and "{stage}" in rule["origin-path"]:
                self.assertIn("/direct", url)
                self.assertNotIn(rule["prefix"], url.split(".amazonaws.com", 1)[1])

    def test_a_guarded_api_that_published_no_domain_says_what_to_deploy(self):
        declared = deploy_model.declarations(ROOT)
        self.deploy_stage("nodomain", {d["strategy"]: d["route"] for d in declared.values()})
        result = self.direct("nodomain")
        guarded = [service for service, d in declared.items() if d["origin-secret"]]
        if guarded:
            self.assertEqual(result.returncode, 1)
            self.assertIn(f"make deploy-{guarded[0]} STAGE=nodomain", result.stderr)
        else:
            self.assertEqual(json.loads(result.stdout)["apis"], {})


if __name__ == "__main__":
    unittest.main()
