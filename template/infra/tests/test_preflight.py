"""infra/preflight.py (make preflight, the first step of make deploy-all) against a local fake
AWS: the script runs as a subprocess on a small project of its own (3 services), as the
Makefile runs it, and each check must stop with what to do, or let the deploy go on.

STS and SSM are moto's server. moto 5.2 answers neither Lambda's GetAccountSettings (404) nor
Bedrock's GetFoundationModelAvailability (not implemented), so a tiny HTTP server in this test
answers those, at the REST paths and in the JSON the boto3 calls use. boto3 sends a service to
AWS_ENDPOINT_URL_<SERVICE> in preference to AWS_ENDPOINT_URL, so AWS_ENDPOINT_URL_LAMBDA and
AWS_ENDPOINT_URL_BEDROCK point at that server and the rest goes to moto. Lambda's
GetFunctionConcurrency then comes from that server too, from the reservations a test sets.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import boto3
from moto.server import ThreadedMotoServer

SCRIPT = Path(__file__).resolve().parents[1] / "preflight.py"
PROJECT = "pre-test"
REGION = "us-east-1"
# Any service names will do: preflight reads what the manifests declare. The first one has a
# worker, a second function (as the WebSocket strategy's generation function is).
SERVICES = ("one-service", "two-service", "three-service")
MODEL_ID = "us.amazon.nova-micro-v1:0"
BOOTSTRAP = "/cdk-bootstrap/hnb659fds/version"
AUTHORIZED = {
    "agreementAvailability": {"status": "AVAILABLE"},
    "authorizationStatus": "AUTHORIZED",
    "entitlementAvailability": "AVAILABLE",
    "regionAvailability": "AVAILABLE",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fake:
    """What the fake Lambda and Bedrock answer; each test sets it."""

    quota = 1000
    unreserved = 1000
    reservations = {}  # function name -> ReservedConcurrentExecutions
    availability = AUTHORIZED  # or None: AccessDeniedException
    asked = []  # model ids asked for


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = unquote(self.path.split("?")[0])
        if path.rstrip("/") == "/2016-08-19/account-settings":
            limit = {"ConcurrentExecutions": Fake.quota, "UnreservedConcurrentExecutions": Fake.unreserved}
            return self.answer(200, {"AccountLimit": limit, "AccountUsage": {}})
        if path.startswith("/2019-09-30/functions/") and path.endswith("/concurrency"):
            name = path.split("/")[3]
            if name not in Fake.reservations:
                return self.error(404, "ResourceNotFoundException", f"Function not found: {name}")
            return self.answer(200, {"ReservedConcurrentExecutions": Fake.reservations[name]})
        if path.startswith("/foundation-model-availability/"):
            Fake.asked.append(path.split("/", 2)[2])
            if Fake.availability is None:
                return self.error(403, "AccessDeniedException", "not authorized to perform this action")
            return self.answer(200, {"modelId": Fake.asked[-1], **Fake.availability})
        self.error(404, "UnknownOperationException", path)

    def answer(self, status, body, error_type=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_type:
            self.send_header("x-amzn-errortype", error_type)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, error_type, message):
        self.answer(status, {"__type": error_type, "message": message}, error_type)

    def log_message(self, *args):
        pass


class Preflight(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        cls.moto.start()
        cls.fake = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=cls.fake.serve_forever, daemon=True).start()
        fake_url = f"http://127.0.0.1:{cls.fake.server_address[1]}"
        # Nothing of the caller's AWS setup leaks in.
        cls.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cls.env.update(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                "AWS_ENDPOINT_URL_LAMBDA": fake_url,
                "AWS_ENDPOINT_URL_BEDROCK": fake_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": REGION,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "PROJECT": PROJECT,
                "STAGE": "dev",
                "RESERVED_CONCURRENCY": "10",
            }
        )
        ssm = boto3.client(
            "ssm",
            region_name=REGION,
            endpoint_url=cls.env["AWS_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        # What `cdk bootstrap` leaves in REGION; other regions are not bootstrapped.
        ssm.put_parameter(Name=BOOTSTRAP, Value="28", Type="String")
        cls.dir = Path(tempfile.mkdtemp(prefix="preflight-test-"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.shutdown()
        cls.fake.server_close()
        cls.moto.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        Fake.quota, Fake.unreserved, Fake.reservations, Fake.availability, Fake.asked = 1000, 1000, {}, AUTHORIZED, []

    def project(self, iac, worker="one-service-generate"):
        """A project root with the scripts, its answers and three services, the first with a
        worker of that name."""
        root = self.dir / f"{iac}-{worker}"
        if not root.exists():
            (root / "infra").mkdir(parents=True)
            for script in (SCRIPT, SCRIPT.parent / "project.py"):
                shutil.copy(script, root / "infra" / script.name)
            (root / "crates" / "genai").mkdir(parents=True)
            shutil.copy(SCRIPT.parent.parent / "crates" / "genai" / "Cargo.toml", root / "crates" / "genai")
            (root / ".genai-scaffold.toml").write_text(
                f'name = "{PROJECT}"\niac = "{iac}"\nmodel_id = "{MODEL_ID}"\nregion = "{REGION}"\narch = "arm64"\n'
            )
            for service in SERVICES:
                (root / "services" / service).mkdir(parents=True)
                (root / "services" / service / "Cargo.toml").write_text(
                    f'[package]\nname = "{service}"\n\n[package.metadata.genai-scaffold]\nstrategy = "{service[:3]}"\n'
                    f'trigger = "t"\ntransport = "t"\nroute = "/{service}"\ntimeout-seconds = 10\nmemory-mb = 256\norigin-secret = false\n'
                )
            with open(root / "services" / SERVICES[0] / "Cargo.toml", "a") as manifest:
                manifest.write(
                    f'[package.metadata.genai-scaffold.worker]\nfunction = "{worker}"\nenv = "WORKER"\nledger-env = "LEDGER"\n'
                    "timeout-seconds = 300\nmemory-mb = 256\nretries = 0\nmax-event-age-seconds = 60\n"
                )
        return root

    def preflight(self, iac="cdk", worker="one-service-generate", **env):
        return subprocess.run(
            [sys.executable, "infra/preflight.py"],
            cwd=self.project(iac, worker),
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def assertStops(self, result, *messages):
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        for message in messages:
            self.assertIn(message, result.stderr)

    def test_all_good_prints_where_it_deploys(self):
        result = self.preflight()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(
            f"deploying {PROJECT} stage dev to account 123456789012 as arn:aws:sts::123456789012:user/moto"
            f" in {REGION}",
            result.stdout,
        )
        self.assertEqual(Fake.asked, ["amazon.nova-micro-v1:0"], "the profile's foundation model")

    def test_without_credentials_says_how_to_set_them(self):
        env = {k: v for k, v in self.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        result = subprocess.run(
            [sys.executable, "infra/preflight.py"],
            cwd=self.project("cdk"),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertStops(result, "AWS_PROFILE", "AWS_ACCESS_KEY_ID")

    def test_cdk_not_bootstrapped_in_the_region(self):
        result = self.preflight(AWS_REGION="us-west-2")
        self.assertStops(result, "make bootstrap", "once per account and region", "us-west-2")

    def test_sam_needs_no_bootstrap(self):
        result = self.preflight("sam", AWS_REGION="us-west-2")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_too_little_unreserved_concurrency(self):
        Fake.unreserved = 120  # 3 x 10 leaves 90 < 100
        result = self.preflight()
        self.assertStops(
            result,
            "reserve 30",
            "120 unreserved",
            "make deploy-all STAGE=dev RESERVED_CONCURRENCY=6",
            '"Concurrent executions"',
        )

    def test_a_new_account_is_told_that_its_quota_is_then_the_cap(self):
        Fake.quota = Fake.unreserved = 10  # a new account: nothing can be reserved
        self.assertStops(
            self.preflight(),
            "RESERVED_CONCURRENCY=0` (nothing reserved: the account's quota of 10 concurrent executions then caps",
            "increase of at least 120 (to 130)",
        )

    def test_a_redeploy_counts_what_its_functions_reserve(self):
        Fake.unreserved = 110  # after this stage's 3 x 10: 110 + 30 - 30 >= 100
        Fake.reservations = {f"{PROJECT}-dev-{s}": 10 for s in SERVICES}
        Fake.reservations["other-app-dev-two-service"] = 500
        self.assertEqual(self.preflight().returncode, 0)
        self.assertStops(self.preflight(STAGE="prod"), "RESERVED_CONCURRENCY=3")

    def test_a_redeploy_counts_what_a_services_second_function_reserves(self):
        # A service with a worker has its cap on the worker.
        Fake.unreserved = 100  # 100 + 30 given back - 30 reserved anew leaves the 100 Lambda keeps
        capped = ("one-service-generate", "two-service", "three-service")
        Fake.reservations = {f"{PROJECT}-dev-{f}": 10 for f in capped}
        self.assertEqual(self.preflight().returncode, 0)
        del Fake.reservations[f"{PROJECT}-dev-one-service-generate"]
        self.assertStops(self.preflight(), "100 unreserved")

    def test_a_stage_too_long_for_lambdas_function_names_stops_before_any_call(self):
        # pre-test-<stage>-<worker>: 64 characters at most. A 16-character stage, the longest
        # STAGE may be, fits beside a 38-character worker name, and is one too many beside 39.
        self.assertEqual(self.preflight(STAGE="s" * 16, worker="w" * 38).returncode, 0)
        self.assertStops(self.preflight(STAGE="s" * 16, worker="w" * 39), "65 characters", "at most 15 characters")
        self.assertStops(self.preflight(STAGE="s" * 17), "STAGE 'sssssssssssssssss' must start with a lowercase letter")

    def test_no_reservation_skips_the_concurrency_check(self):
        Fake.unreserved = 0
        self.assertEqual(self.preflight(RESERVED_CONCURRENCY="0").returncode, 0)

    def test_model_not_authorized(self):
        Fake.availability = {**AUTHORIZED, "authorizationStatus": "NOT_AUTHORIZED"}
        result = self.preflight()
        self.assertStops(
            result, "amazon.nova-micro-v1:0", "not authorized", "Bedrock console", "Model access"
        )

    def test_model_agreement_not_available(self):
        Fake.availability = {**AUTHORIZED, "agreementAvailability": {"status": "NOT_AVAILABLE"}}
        self.assertStops(self.preflight(), "agreement", "Model access")

    def test_denied_availability_call_warns_and_goes_on(self):
        Fake.availability = None
        result = self.preflight()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("model access to amazon.nova-micro-v1:0 not verified", result.stderr)

    def test_an_arn_model_id_is_not_checked(self):
        arn = f"arn:aws:bedrock:{REGION}:123456789012:application-inference-profile/abc"
        result = self.preflight(MODEL_ID=arn)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("not checked", result.stdout)
        self.assertEqual(Fake.asked, [])


if __name__ == "__main__":
    unittest.main()
