"""infra/origin_secret.py against moto's server, run as the Makefile runs it: made once and
kept by every later deploy, rotated with the previous value kept second, deleted by destroy."""

import unittest
from pathlib import Path

from .fake_aws import FakeAws

SCRIPT = Path(__file__).resolve().parents[1] / "origin_secret.py"
NAME = "/secret-test/dev/deploy/origin/secret"


class OriginSecret(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = FakeAws(PROJECT="secret-test", STAGE="dev", OWNER="dev@example.com")
        cls.ssm = cls.aws.client("ssm")

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def run_script(self, command):
        result = self.aws.run(SCRIPT, command)
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
        result = self.aws.run(SCRIPT, "rotate", STAGE="never-deployed")
        self.assertEqual(result.returncode, 1)
        self.assertIn("make deploy-all", result.stderr)


if __name__ == "__main__":
    unittest.main()
