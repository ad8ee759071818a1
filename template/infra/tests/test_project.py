"""infra/project.py, the deploy model: what it reads from this project, the one rule of each
setting with its message (both IaC flavors show these), and the settings a stage keeps between
deploys, against moto's in-process SSM."""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import project  # noqa: E402

SCRIPT = Path(project.__file__)


class Model(unittest.TestCase):
    def test_reads_the_record_and_every_service_declaration_of_this_project(self):
        model = project.load({})
        record = project.record()
        self.assertEqual((model["name"], model["region"], model["arch"]), (record["name"], record["region"], record["arch"]))
        services = sorted(p.parent.name for p in project.ROOT.glob("services/*/Cargo.toml"))
        self.assertEqual(sorted(model["services"]), services)
        self.assertGreater(len(services), 0)
        for service, declared in model["services"].items():
            for key in project.DECLARED:
                self.assertIn(key, declared, service)
        self.assertEqual(model["paths"]["deploy"], f"/{record['name']}/dev/deploy")

    def test_the_environment_overrides_the_record(self):
        model = project.load({"STAGE": "prod", "AWS_REGION": "eu-west-1", "ARCH": "x86_64", "MODEL_ID": "amazon.nova-micro-v1:0"})
        self.assertEqual((model["stage"], model["region"], model["arch"]), ("prod", "eu-west-1", "x86_64"))
        self.assertEqual(model["model"]["arn"], "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-micro-v1:0")

    def test_model_arns_for_a_profile_a_foundation_model_and_an_arn(self):
        profile = project.model("eu.amazon.nova-micro-v1:0", "eu-west-1")
        self.assertEqual(profile["arn"], "arn:aws:bedrock:eu-west-1:${AWS::AccountId}:inference-profile/eu.amazon.nova-micro-v1:0")
        # Any region: a destination region AWS adds to the profile stays covered.
        self.assertEqual(profile["foundationModelArn"], "arn:aws:bedrock:*::foundation-model/amazon.nova-micro-v1:0")
        self.assertEqual(profile["foundationModel"], "amazon.nova-micro-v1:0")
        self.assertEqual(project.model("global.anthropic.claude-x", "us-gov-west-1")["arn"].split(":")[1], "aws-us-gov")
        foundation = project.model("amazon.nova-micro-v1:0", "us-east-1")
        self.assertEqual(foundation["arn"], "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0")
        self.assertIsNone(foundation["foundationModelArn"])
        arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"
        self.assertEqual((project.model(arn, "us-east-1")["arn"], project.model(arn, "us-east-1")["foundationModel"]), (arn, None))

    def test_a_rest_apis_path_is_where_the_cdn_sends_its_route(self):
        # The router's rewrite (infra/cdk/functions/router.js; SAM's CDN runs the same code):
        # an exact rule sends its route to the stage's root, another the route below its prefix.
        buffered = {"trigger": "apigateway-rest", "route": "/v1/generate", "cdn": {"prefix": "/v1", "origin-path": "/{stage}", "exact": False}}
        streamed = {"trigger": "apigateway-rest-streaming", "route": "/talk", "cdn": {"prefix": "/talk", "origin-path": "/{stage}", "exact": True}}
        url = {"trigger": "function-url-streaming", "route": "/live"}
        self.assertEqual([project.api_path(d) for d in (buffered, streamed, url)], ["/generate", "/", "/live"])
        # Both REST triggers are a method of a REST API, which the stage twin and check-access read.
        self.assertEqual([project.behind_rest_api(d) for d in (buffered, streamed, url)], [True, True, False])


class Rules(unittest.TestCase):
    """One rule per setting, one message: what `make deploy-*` says in either flavor."""

    def refused(self, env, message):
        with self.assertRaises(project.Invalid, msg=env) as caught:
            project.load(env, remembered={})
        self.assertIn(message, str(caught.exception))

    def test_stage(self):
        for good in ("dev", "prod", "pr-42"):
            self.assertEqual(project.load({"STAGE": good})["stage"], good)
        # The longest stage the rule takes; a long project name may leave its functions' names
        # no room for it, which Lambda's limit then refuses, with its own message.
        try:
            self.assertEqual(project.load({"STAGE": "a" * 16})["stage"], "a" * 16)
        except project.Invalid as refused:
            self.assertIn(f"Lambda allows {project.FUNCTION_NAME_LIMIT}", str(refused))
        for bad in ("Prod", "1st", "a_b", "a" * 17, "dev stage"):
            self.refused({"STAGE": bad}, f"STAGE '{bad}' must start with a lowercase letter")

    def test_allowed_origins(self):
        self.assertEqual(project.load({"ALLOWED_ORIGINS": " http://localhost:5173 ,https://a.example.com/"})["allowedOrigins"], ["http://localhost:5173", "https://a.example.com"])
        for wrong in ("*", "localhost:5173", "https://app.example.com/path", "https://*.example.com", "HTTPS://A.COM"):
            self.refused({"ALLOWED_ORIGINS": wrong}, "is not an origin: write scheme://host[:port] in lowercase")

    def test_alert_email_and_budget(self):
        model = project.load({"ALERT_EMAIL": "ops@example.com", "BUDGET_USD": "20"})
        self.assertEqual((model["alertEmail"], model["budgetUsd"]), ("ops@example.com", 20))
        self.assertEqual(project.load({"ALERT_EMAIL": "ops@example.com", "BUDGET_USD": "12.5"})["budgetUsd"], 12.5)
        self.refused({"ALERT_EMAIL": "a@b.c, d@e.f"}, "ALERT_EMAIL 'a@b.c, d@e.f' must be one email address")
        self.refused({"BUDGET_USD": "20"}, "BUDGET_USD needs ALERT_EMAIL")
        # Zero is not "no budget": an empty value is (and says so).
        for wrong in ("0", "-5", "lots", "inf", "nan"):
            self.refused({"ALERT_EMAIL": "ops@example.com", "BUDGET_USD": wrong}, f"BUDGET_USD '{wrong}' must be a positive amount")
        self.refused({"ALERT_EMAIL": "ops@example.com", "BUDGET_USD": "0"}, "`BUDGET_USD=`, empty, removes the stage's budget")

    def test_tracing(self):
        self.assertEqual([project.load({"TRACING": v})["tracing"] for v in ("on", "off", "")], [True, False, False])
        self.assertFalse(project.load({})["tracing"])
        self.refused({"TRACING": "yes"}, "TRACING 'yes' must be on or off")

    def test_counts_arch_and_region(self):
        self.assertEqual(project.load({"RESERVED_CONCURRENCY": "0"})["reservedConcurrency"], 0)
        for wrong in ("-1", "ten", "1.5"):
            self.refused({"RESERVED_CONCURRENCY": wrong}, f"RESERVED_CONCURRENCY '{wrong}' must be 0 or a positive integer")
        self.refused({"ARCH": "arm"}, "ARCH 'arm' must be one of arm64, x86_64")
        self.refused({"AWS_REGION": "Europe"}, "AWS_REGION 'Europe' is not a region name")


class Project(unittest.TestCase):
    """load() on a scratch project: what a broken record or declaration says."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = Path(self.dir.name)
        (self.root / ".genai-scaffold.toml").write_text('name = "p"\niac = "sam"\nregion = "us-east-1"\nmodel_id = "m"\narch = "arm64"\n')
        (self.root / "services" / "one").mkdir(parents=True)
        (self.root / "crates" / "genai").mkdir(parents=True)
        shutil.copy(project.ROOT / "crates" / "genai" / "Cargo.toml", self.root / "crates" / "genai")

    def tearDown(self):
        self.dir.cleanup()

    def manifest(self, text):
        (self.root / "services" / "one" / "Cargo.toml").write_text(f'[package]\nname = "one"\n{text}')

    def test_an_incomplete_declaration_names_what_it_lacks(self):
        self.manifest('[package.metadata.genai-scaffold]\nstrategy = "one"\nroute = "/one"\n[package.metadata.genai-scaffold.worker]\nfunction = "w"\n')
        with self.assertRaises(project.Invalid) as caught:
            project.load({}, root=self.root)
        message = str(caught.exception)
        self.assertIn("services/one/Cargo.toml [package.metadata.genai-scaffold] lacks trigger, transport", message)
        self.assertIn("worker.env", message)

    def test_inline_tables_and_multi_line_values_are_read_as_toml(self):
        self.manifest(
            '[package.metadata.genai-scaffold]\nstrategy = "one"\ntrigger = "t"\ntransport = "t"\nroute = """/one"""\n'
            'timeout-seconds = 29\nmemory-mb = 256\norigin-secret = false\nroutes = [\n  "a",\n  "b",\n]\ncdn = { prefix = "/one", origin-path = "/{stage}", exact = false }\n'
        )
        declared = project.load({}, root=self.root)["services"]["one"]
        self.assertEqual((declared["route"], declared["routes"], declared["cdn"]["prefix"]), ("/one", ["a", "b"], "/one"))

    def test_the_shared_names_are_the_genai_crates_declaration(self):
        self.manifest('[package.metadata.genai-scaffold]\nstrategy = "one"\ntrigger = "t"\ntransport = "t"\nroute = "/one"\ntimeout-seconds = 29\nmemory-mb = 256\norigin-secret = false\n')
        genai = self.root / "crates" / "genai" / "Cargo.toml"
        text = genai.read_text()
        genai.write_text(
            text.replace('config-env = "CONFIG_SSM_PATH"', 'config-env = "SETTINGS_PATH"')
            .replace('origin-secret-env = "ORIGIN_SECRET"', 'origin-secret-env = "CDN_SECRET"')
            .replace('origin-secret-header = "x-origin-verify"', 'origin-secret-header = "x-from-cdn"')
        )
        loaded = project.load({}, root=self.root)
        self.assertEqual((loaded["configEnv"], loaded["originSecret"]), ("SETTINGS_PATH", {"env": "CDN_SECRET", "header": "x-from-cdn"}))
        genai.write_text(text.replace('origin-secret-header = "x-origin-verify"', 'origin-secret-header = "X Bad"'))
        with self.assertRaisesRegex(project.Invalid, "crates/genai/Cargo.toml .* has no valid `origin-secret-header`"):
            project.load({}, root=self.root)
        genai.write_text('[package]\nname = "genai"\n')
        with self.assertRaisesRegex(project.Invalid, "crates/genai/Cargo.toml .* has no valid `config-env`"):
            project.load({}, root=self.root)

    def test_the_request_limits_are_the_genai_crates_declaration(self):
        self.manifest('[package.metadata.genai-scaffold]\nstrategy = "one"\ntrigger = "t"\ntransport = "t"\nroute = "/one"\ntimeout-seconds = 29\nmemory-mb = 256\norigin-secret = false\n')
        genai = self.root / "crates" / "genai" / "Cargo.toml"
        text = genai.read_text()
        genai.write_text(text.replace("max-tokens = 4096", "max-tokens = 2048"))
        self.assertEqual(project.load({}, root=self.root)["limits"], {"max-prompt-bytes": 16384, "max-tokens": 2048, "default-max-tokens": 512})
        genai.write_text(text.replace("max-tokens = 4096", "max-tokens = 256"))
        with self.assertRaisesRegex(project.Invalid, "default-max-tokens 512 is above max-tokens 256"):
            project.load({}, root=self.root)
        genai.write_text(text.replace("max-prompt-bytes = 16384", 'max-prompt-bytes = "16k"'))
        with self.assertRaisesRegex(project.Invalid, "has no valid `max-prompt-bytes`"):
            project.load({}, root=self.root)

    def test_a_missing_or_broken_record_says_what_to_do(self):
        (self.root / ".genai-scaffold.toml").write_text('name = "p"\n')
        with self.assertRaisesRegex(project.Invalid, "has no iac: regenerate the project"):
            project.load({}, root=self.root)
        (self.root / ".genai-scaffold.toml").write_text("name = \n")
        with self.assertRaisesRegex(project.Invalid, "is not valid TOML"):
            project.load({}, root=self.root)


class StageSettings(unittest.TestCase):
    """ALLOWED_ORIGINS, ALERT_EMAIL and BUDGET_USD: a deploy that does not name one keeps the
    stage's value, an empty one clears it; `remember` and `forget` against SSM."""

    def test_not_named_keeps_named_empty_clears(self):
        remembered = {"allowed-origins": "https://a.example.com", "alert-email": "ops@example.com", "budget-usd": "20"}
        kept = project.load({}, remembered=remembered)
        self.assertEqual((kept["allowedOrigins"], kept["alertEmail"], kept["budgetUsd"]), (["https://a.example.com"], "ops@example.com", 20))
        cleared = project.load({"ALLOWED_ORIGINS": "", "BUDGET_USD": ""}, remembered=remembered)
        self.assertEqual((cleared["allowedOrigins"], cleared["alertEmail"], cleared["budgetUsd"]), ([], "ops@example.com", None))
        # A cleared value is remembered as `none` (SSM holds no empty value).
        self.assertEqual(project.load({}, remembered={"allowed-origins": "none"})["allowedOrigins"], [])
        # Clearing the address a remembered budget mails is refused, not half done.
        with self.assertRaisesRegex(project.Invalid, "BUDGET_USD needs ALERT_EMAIL"):
            project.load({"ALERT_EMAIL": ""}, remembered=remembered)

    def test_remember_then_a_deploy_that_names_nothing_then_forget(self):
        from moto import mock_aws

        fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        with mock.patch.dict(os.environ, fake), mock_aws():
            os.environ.pop("AWS_ENDPOINT_URL", None)
            env = {"STAGE": "t", "AWS_REGION": "us-east-1"}
            named = {**env, "ALLOWED_ORIGINS": "http://localhost:5173", "ALERT_EMAIL": "ops@example.com", "BUDGET_USD": "20"}
            project.main(["remember"], named)
            out = io.StringIO()
            project.main(["show", "--remembered"], env, out=out)
            shown = json.loads(out.getvalue())
            self.assertEqual((shown["allowedOrigins"], shown["alertEmail"], shown["budgetUsd"]), (["http://localhost:5173"], "ops@example.com", 20))
            # Named empty: cleared, and remembered cleared.
            project.main(["remember"], {**env, "ALLOWED_ORIGINS": ""})
            self.assertEqual(project.load({**env, "KEEP_STAGE_SETTINGS": "1"})["allowedOrigins"], [])
            self.assertEqual(project.load({**env, "KEEP_STAGE_SETTINGS": "1"})["alertEmail"], "ops@example.com")
            project.main(["forget"], env)
            self.assertEqual(project.read_remembered(project.record()["name"], "t", "us-east-1"), {})


class Command(unittest.TestCase):
    def run_script(self, *args, **env):
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args], env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=60
        )

    def test_show_prints_the_model_and_a_broken_rule_exits_2_with_its_message(self):
        shown = self.run_script("show", STAGE="qa")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertEqual(json.loads(shown.stdout)["stage"], "qa")
        refused = self.run_script("show", STAGE="QA")
        self.assertEqual((refused.returncode, refused.stdout), (2, ""))
        self.assertTrue(refused.stderr.startswith("error: STAGE 'QA'"), refused.stderr)

    def test_answer_prints_one_answer_of_the_record(self):
        answered = self.run_script("answer", "name")
        self.assertEqual(answered.stdout.strip(), project.record()["name"])
        self.assertNotEqual(self.run_script("answer", "nothing").returncode, 0)


if __name__ == "__main__":
    unittest.main()
