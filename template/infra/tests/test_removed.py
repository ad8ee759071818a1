"""infra/removed.py against moto's server, run as `make destroy-<service>` runs it for a service
that `genai-scaffold remove` took out: the stage's stack of that service is deleted; a stage
without one, or a service the project still has, is refused with what to do."""

import json
import sys
import unittest
from pathlib import Path

from .fake_aws import FakeAws

INFRA = Path(__file__).resolve().parents[1]
SCRIPT = INFRA / "removed.py"
sys.path.insert(0, str(INFRA))
import project as deploy_model  # noqa: E402

NAME = deploy_model.record()["name"]
# A service this project does not have (any removed strategy's stack is named so).
GONE = "gone-service"
# One resource of any kind: the script deletes stacks by name, whatever they hold.
RESOURCES = {"Topic": {"Type": "AWS::SNS::Topic"}}
TEMPLATE = json.dumps({"Resources": RESOURCES})


class Removed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = FakeAws(STAGE="dev", AWS_REGION="us-west-2")
        cls.cloudformation = cls.aws.client("cloudformation", region="us-west-2")

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def stacks(self):
        listed = self.cloudformation.describe_stacks()["Stacks"]
        return [s["StackName"] for s in listed if s["StackStatus"] != "DELETE_COMPLETE"]

    def test_the_stack_of_a_removed_service_is_deleted_and_no_other(self):
        stack = f"{NAME}-dev-{GONE}"
        kept = f"{NAME}-dev-config"
        for name in (stack, kept):
            self.cloudformation.create_stack(StackName=name, TemplateBody=TEMPLATE)
        result = self.aws.run(SCRIPT, GONE)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"Deleted {stack}", result.stdout)
        self.assertIn("make deploy-cdn deploy-frontend", result.stdout)
        self.assertNotIn(stack, self.stacks())
        self.assertIn(kept, self.stacks())

    def test_a_stage_without_that_stack_is_told_so(self):
        result = self.aws.run(SCRIPT, GONE, STAGE="other")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"stage other has no stack {NAME}-other-{GONE} in us-west-2", result.stderr)

    def test_a_service_the_project_still_has_is_refused(self):
        present = sorted(p.parent.name for p in (INFRA.parent / "services").glob("*/Cargo.toml"))[0]
        result = self.aws.run(SCRIPT, present)
        self.assertEqual(result.returncode, 2)
        self.assertIn(f"make destroy-{present}", result.stderr)


if __name__ == "__main__":
    unittest.main()
