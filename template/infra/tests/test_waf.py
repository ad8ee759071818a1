"""infra/waf.py against moto's server, run as the Makefile runs it: WAF=on makes the web ACL in
us-east-1 and publishes its ARN in the stage's region, a later deploy without WAF keeps it,
WAF=off publishes `none` before the CDN deploys and deletes the ACL after, destroy removes both.
The rules it makes, run through WAF's documented evaluation (moto stores them, evaluates none):
what a throttled page on each origin receives. And the request itself against the WAF API's
rules, which moto does not check either."""

import contextlib
import importlib.util
import io
import json
import os
import re
import sys
import unittest
from pathlib import Path
from unittest import mock

import boto3
from botocore.exceptions import ClientError

from .fake_aws import FakeAws

# waf.py imports the deploy model (infra/project.py) beside it, as `import project`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCRIPT = Path(__file__).resolve().parents[1] / "waf.py"
PARAMETER = "/waf-test/dev/deploy/waf/acl-arn"
# A stage outside us-east-1: the ACL must still be made there, the parameter here.
STAGE_REGION = "eu-west-1"


class Waf(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = FakeAws(PROJECT="waf-test", STAGE="dev", OWNER="dev@example.com", AWS_REGION=STAGE_REGION)
        cls.waf = cls.aws.client("wafv2", "us-east-1")
        cls.ssm = cls.aws.client("ssm", STAGE_REGION)

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def run_ok(self, command, **env):
        result = self.aws.run(SCRIPT, command, **env)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def acls(self):
        return [a for a in self.waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] if a["Name"] == "waf-test-dev-cdn"]

    def published(self):
        try:
            return self.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]
        except self.ssm.exceptions.ParameterNotFound:
            return None

    def web_acl(self, acl):
        return self.waf.get_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"])["WebACL"]

    def deploy_cdn(self, **env):
        """What make deploy-cdn runs around the CDN stack."""
        self.run_ok("apply", **env)
        self.run_ok("prune", **env)

    def test_on_kept_by_later_deploys_then_off_then_destroy(self):
        # A new stage without WAF: `none`, so the CDN stack has a value to read.
        self.deploy_cdn()
        self.assertEqual(self.published(), "none")
        self.assertEqual(self.acls(), [])

        self.assertIn("made", self.run_ok("apply", WAF="on", WAF_RATE_LIMIT="120"))
        (acl,) = self.acls()
        self.assertEqual(self.published(), acl["ARN"])
        (rule,) = self.web_acl(acl)["Rules"]
        self.assertEqual(rule["Statement"]["RateBasedStatement"]["Limit"], 120)
        self.assertEqual(rule["Statement"]["RateBasedStatement"]["AggregateKeyType"], "IP")
        self.assertEqual(list(rule["Action"]), ["Block"])
        self.assertEqual(rule["Action"]["Block"]["CustomResponse"], {"ResponseCode": 429, "CustomResponseBodyKey": "throttled"})
        # The protocol's error body, so the clients show THROTTLED.
        body = self.web_acl(acl)["CustomResponseBodies"]["throttled"]
        self.assertEqual(body["ContentType"], "APPLICATION_JSON")
        self.assertEqual(json.loads(body["Content"])["error"]["code"], "THROTTLED")

        # WAF=on again updates that ACL: one ACL, the same ARN, the new limit.
        self.assertIn("updated", self.run_ok("apply", WAF="on", WAF_RATE_LIMIT="500"))
        (again,) = self.acls()
        self.assertEqual(again["ARN"], acl["ARN"])
        self.assertEqual(self.web_acl(again)["Rules"][0]["Statement"]["RateBasedStatement"]["Limit"], 500)
        # A deploy that does not say (make rotate-origin-secret, a later deploy-cdn) keeps it.
        self.assertIn("on, as before", self.run_ok("apply"))
        self.run_ok("prune")
        self.assertEqual(self.published(), acl["ARN"])
        self.assertEqual(len(self.acls()), 1)

        # WAF=off: the CDN deploys without it (`none`), then the ACL goes.
        self.run_ok("apply", WAF="off")
        self.assertEqual(self.published(), "none")
        self.assertEqual(len(self.acls()), 1)
        self.assertIn("deleted", self.run_ok("prune", WAF="off"))
        self.assertEqual(self.acls(), [])
        self.assertIn("off, as before", self.run_ok("apply"))

        self.run_ok("apply", WAF="on")
        self.assertIn("deleted", self.run_ok("delete"))
        self.assertEqual(self.acls(), [])
        self.assertIsNone(self.published())
        self.assertEqual(self.run_ok("delete"), "")

    def test_a_bad_setting_says_what_to_write_and_makes_nothing(self):
        for env, message in (({"WAF": "yes"}, "WAF=on or WAF=off"), ({"WAF": "on", "WAF_RATE_LIMIT": "5"}, "from 10 up")):
            result = self.aws.run(SCRIPT, "apply", STAGE="bad", **env)
            self.assertEqual(result.returncode, 1)
            self.assertIn(message, result.stderr)
        self.assertEqual([a for a in self.waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] if a["Name"] == "waf-test-bad-cdn"], [])


def matches(statement, request, labels):
    """Whether a rule's statement matches `request` (method, origin, over the limit or not), as
    the AWS WAF Developer Guide describes each statement used here: a rate-based statement
    matches while the address is over its limit, a label match once an earlier rule added the
    label, a byte match EXACTLY on the method or one header."""
    (kind, body), = statement.items()
    if kind == "RateBasedStatement":
        return request["over_limit"]
    if kind == "LabelMatchStatement":
        return body["Key"] in labels
    if kind == "ByteMatchStatement":
        field = body["FieldToMatch"]
        value = request["method"] if "Method" in field else request["headers"].get(field["SingleHeader"]["Name"])
        wanted = body["SearchString"]
        wanted = wanted.decode() if isinstance(wanted, bytes) else wanted
        assert body["PositionalConstraint"] == "EXACTLY"
        return value == wanted
    if kind == "AndStatement":
        return all(matches(s, request, labels) for s in body["Statements"])
    if kind == "OrStatement":
        return any(matches(s, request, labels) for s in body["Statements"])
    if kind == "NotStatement":
        return not matches(body["Statement"], request, labels)
    raise AssertionError(f"a statement this evaluation does not know: {kind}")


def evaluate(rules, method, origin=None, over_limit=True):
    """The custom response a request gets (status and headers), or None when it goes on to the
    CDN: rules in priority order, Count adds the rule's labels and goes on, Block and Allow end
    the evaluation, the default action allows."""
    request = {"method": method, "headers": {"origin": origin} if origin else {}, "over_limit": over_limit}
    labels = set()
    for rule in sorted(rules, key=lambda r: r["Priority"]):
        if not matches(rule["Statement"], request, labels):
            continue
        labels.update(label["Name"] for label in rule.get("RuleLabels", []))
        (action, settings), = rule["Action"].items()
        if action == "Block":
            response = settings["CustomResponse"]
            return response["ResponseCode"], {h["Name"]: h["Value"] for h in response.get("ResponseHeaders", [])}
        if action == "Allow":
            return None
    return None


class Cors(unittest.TestCase):
    """The 429 a page on an ALLOWED_ORIGINS origin gets carries that origin's CORS headers, so
    it reads THROTTLED; the app's own page (same origin) needs none."""

    @classmethod
    def setUpClass(cls):
        cls.aws = FakeAws(PROJECT="waf-test", STAGE="cors", OWNER="dev@example.com", AWS_REGION=STAGE_REGION)
        cls.waf = cls.aws.client("wafv2", "us-east-1")
        cls.ssm = cls.aws.client("ssm", STAGE_REGION)

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def rules(self):
        (acl,) = [a for a in self.waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] if a["Name"] == "waf-test-cors-cdn"]
        return self.waf.get_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"])["WebACL"]["Rules"]

    def apply(self, **env):
        result = self.aws.run(SCRIPT, "apply", **env)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_each_allowed_origin_reads_its_429_and_the_rest_get_it_without_cors(self):
        dev, other = "http://localhost:5173", "https://app.example.com"
        self.apply(WAF="on", WAF_RATE_LIMIT="120", ALLOWED_ORIGINS=f"{dev}, {other}/")
        rules = self.rules()
        for origin in (dev, other):
            self.assertEqual(
                evaluate(rules, "POST", origin),
                (429, {"access-control-allow-origin": origin, "vary": "Origin"}),
                origin,
            )
        # The app's own page, a client without Origin, an origin not allowed: no CORS.
        for origin in ("https://d111111abcdef8.cloudfront.net", None, "https://evil.example.com"):
            self.assertEqual(evaluate(rules, "POST", origin), (429, {}), origin)
            self.assertEqual(evaluate(rules, "GET", origin), (429, {}), origin)
        # An allowed origin's preflight reaches the service, which answers it; others' do not.
        self.assertIsNone(evaluate(rules, "OPTIONS", dev))
        self.assertEqual(evaluate(rules, "OPTIONS", "https://evil.example.com"), (429, {}))
        # Under the limit nothing is blocked.
        for origin in (dev, None):
            self.assertIsNone(evaluate(rules, "POST", origin, over_limit=False))

        # A later deploy that does not say WAF keeps the limit, and the CORS headers follow the
        # stage's ALLOWED_ORIGINS (here remembered by the stage, as `make deploy-cdn` leaves it).
        self.ssm.put_parameter(
            Name="/waf-test/cors/deploy/settings/allowed-origins", Value=other, Type="String", Overwrite=True
        )
        self.apply(WAF_RATE_LIMIT="300")
        rules = self.rules()
        self.assertEqual(rules[0]["Statement"]["RateBasedStatement"]["Limit"], 120)
        self.assertEqual(evaluate(rules, "POST", dev), (429, {}))
        self.assertEqual(evaluate(rules, "POST", other)[1]["access-control-allow-origin"], other)

        # No origin besides the app's: the one rule blocks by itself (each rule costs $1 a month).
        self.apply(ALLOWED_ORIGINS="")
        (rule,) = self.rules()
        self.assertEqual(list(rule["Action"]), ["Block"])
        self.assertEqual(evaluate([rule], "POST", dev), (429, {}))

    def test_an_allowed_origin_that_is_not_one_stops_before_any_change(self):
        result = self.aws.run(SCRIPT, "apply", WAF="on", STAGE="typo", ALLOWED_ORIGINS="localhost:5173")
        self.assertEqual(result.returncode, 1)
        self.assertIn("is not an origin", result.stderr)
        self.assertEqual([a for a in self.waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] if a["Name"] == "waf-test-typo-cdn"], [])


def violations(shape, value, path="request"):
    """Where `value` breaks the patterns and lengths of botocore's model `shape`: AWS checks
    them on its side (moto and botocore do not), so a request that breaks one fails only in AWS."""
    if shape.type_name == "structure":
        for name, member in value.items():
            yield from violations(shape.members[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            yield from violations(shape.member, item, f"{path}[{i}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            yield from violations(shape.key, key, f"{path} key {key!r}")
            yield from violations(shape.value, item, f"{path}[{key!r}]")
    elif shape.type_name == "string":
        rules = shape.metadata
        if "pattern" in rules and not re.fullmatch(rules["pattern"], value):
            yield f"{path}: {value!r} does not match {rules['pattern']}"
        if not rules.get("min", 0) <= len(value) <= rules.get("max", len(value)):
            yield f"{path}: {len(value)} characters, outside {rules.get('min')}..{rules.get('max')}"
    elif shape.type_name in ("integer", "long"):
        if not shape.metadata.get("min", value) <= value <= shape.metadata.get("max", value):
            yield f"{path}: {value} outside {shape.metadata.get('min')}..{shape.metadata.get('max')}"


class Request(unittest.TestCase):
    def test_the_web_acl_request_keeps_the_waf_apis_rules(self):
        spec = importlib.util.spec_from_file_location("waf", SCRIPT)
        waf = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(waf)
        model = boto3.client("wafv2", region_name="us-east-1").meta.service_model
        with mock.patch.dict(os.environ, {"PROJECT": "a-long-project-name", "STAGE": "production"}):
            for limit in (waf.MIN_LIMIT, 300, waf.MAX_LIMIT):
                for origins in ((), ("http://localhost:5173",), ("http://localhost:5173", "https://app.example.com:8443")):
                    for operation in ("CreateWebACL", "UpdateWebACL"):
                        shape = model.operation_model(operation).input_shape
                        self.assertEqual(list(violations(shape, waf.request(limit, origins))), [], operation)


class FakeWaf:
    """A WAF client that refuses each call with the codes given, in turn, before it succeeds."""

    def __init__(self, **refusals):
        self.refusals = {name: list(codes) for name, codes in refusals.items()}
        self.calls = []

    def list_web_acls(self, **_):
        self.calls.append("list")
        token = f"token-{len(self.calls)}"
        return {"WebACLs": [{"Name": "waf-test-dev-cdn", "Id": "acl-1", "ARN": "arn:acl-1", "LockToken": token}]}

    def refuse_or(self, name, kwargs, answer):
        self.calls.append((name, kwargs.get("LockToken")))
        if self.refusals.get(name):
            code = self.refusals[name].pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, name)
        return answer

    def update_web_acl(self, **kwargs):
        return self.refuse_or("update", kwargs, {"NextLockToken": "next"})

    def delete_web_acl(self, **kwargs):
        return self.refuse_or("delete", kwargs, {})


class Retries(unittest.TestCase):
    """WAF's optimistic lock and a distribution still letting go of the ACL: tried again with
    backoff and a fresh lock token, a bounded number of times."""

    def setUp(self):
        spec = importlib.util.spec_from_file_location("waf", SCRIPT)
        self.waf = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.waf)
        patched = mock.patch.dict(os.environ, {"PROJECT": "waf-test", "STAGE": "dev", "WAF": "on", "WAF_RATE_LIMIT": "300", "ALLOWED_ORIGINS": ""})
        patched.start()
        self.addCleanup(patched.stop)
        self.slept = []

    def test_an_update_refused_for_a_stale_lock_token_is_made_again_with_a_new_one(self):
        fake, ssm = FakeWaf(update=["WAFOptimisticLockException"]), mock.Mock()
        self.waf.apply(fake, ssm, sleep=self.slept.append)
        updates = [c for c in fake.calls if c[0] == "update"]
        self.assertEqual(len(updates), 2)
        self.assertNotEqual(updates[0][1], updates[1][1], "the second try reads the lock token again")
        self.assertEqual(self.slept, [2])
        ssm.put_parameter.assert_called_once()

    def test_a_delete_waits_while_the_distribution_still_uses_the_acl(self):
        fake = FakeWaf(delete=["WAFAssociatedItemException"] * 3)
        with contextlib.redirect_stderr(io.StringIO()) as err:
            self.waf.delete_acl(fake, sleep=self.slept.append)
        self.assertEqual(self.slept, [2, 4, 8])
        self.assertEqual(len([c for c in fake.calls if c[0] == "delete"]), 4)
        self.assertIn("WAFAssociatedItemException, trying again in 2 s", err.getvalue())

    def test_it_gives_up_after_its_attempts_and_says_so_and_other_errors_are_not_retried(self):
        fake = FakeWaf(delete=["WAFAssociatedItemException"] * self.waf.ATTEMPTS)
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(ClientError):
            self.waf.delete_acl(fake, sleep=self.slept.append)
        self.assertEqual(len(self.slept), self.waf.ATTEMPTS - 1)
        self.assertLessEqual(sum(self.slept), 240)
        self.assertIn(f"after {self.waf.ATTEMPTS} attempts", err.getvalue())
        denied = FakeWaf(delete=["AccessDeniedException"])
        with self.assertRaises(ClientError):
            self.waf.delete_acl(denied, sleep=self.slept.append)
        self.assertEqual(len([c for c in denied.calls if c[0] == "delete"]), 1)


if __name__ == "__main__":
    unittest.main()
