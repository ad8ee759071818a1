"""infra/waf.py against moto's server, run as the Makefile runs it: WAF=on makes the web ACL in
us-east-1 and publishes its ARN in the stage's region, a later deploy updates the same ACL,
WAF=off withdraws it before the CDN deploys and deletes it after, destroy removes both."""

import json
import unittest
from pathlib import Path

from .fake_aws import FakeAws

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

    def rule(self, acl):
        found = self.waf.get_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"])["WebACL"]
        (rule,) = found["Rules"]
        return rule

    def test_on_then_off_then_destroy(self):
        self.assertIn("made", self.run_ok("apply", WAF="on", WAF_RATE_LIMIT="120"))
        (acl,) = self.acls()
        self.assertEqual(self.published(), acl["ARN"])
        rule = self.rule(acl)
        self.assertEqual(rule["Statement"]["RateBasedStatement"]["Limit"], 120)
        self.assertEqual(rule["Statement"]["RateBasedStatement"]["AggregateKeyType"], "IP")
        self.assertEqual(list(rule["Action"]), ["Block"])
        self.assertEqual(rule["Action"]["Block"]["CustomResponse"], {"ResponseCode": 429, "CustomResponseBodyKey": "throttled"})
        # The protocol's error body, so the clients show THROTTLED.
        body = self.waf.get_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"])["WebACL"]["CustomResponseBodies"]["throttled"]
        self.assertEqual(body["ContentType"], "APPLICATION_JSON")
        self.assertEqual(json.loads(body["Content"])["error"]["code"], "THROTTLED")
        # The next deploy updates that ACL: one ACL, the same ARN, the new limit.
        self.assertIn("updated", self.run_ok("apply", WAF="on", WAF_RATE_LIMIT="500"))
        (again,) = self.acls()
        self.assertEqual(again["ARN"], acl["ARN"])
        self.assertEqual(self.rule(again)["Statement"]["RateBasedStatement"]["Limit"], 500)
        self.assertEqual(self.run_ok("prune", WAF="on"), "")
        self.assertEqual(len(self.acls()), 1)

        # WAF=off: the CDN deploys without the parameter, then the ACL goes.
        self.run_ok("apply", WAF="off")
        self.assertIsNone(self.published())
        self.assertEqual(len(self.acls()), 1)
        self.assertIn("deleted", self.run_ok("prune", WAF="off"))
        self.assertEqual(self.acls(), [])

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


if __name__ == "__main__":
    unittest.main()
