"""A generated project's `make check-access` (template/infra/access.py) against a deployed stage
on the stand-in: what its code expects of the deployment (`as_declared`: the configuration's
variable, the declared limits, the route through the CDN's rewrite) holds for a stage deployed
as declared, and each difference a hand edit of a stack makes is named, with the file to fix.

    python -m unittest discover -s tests/standin      (the repo's `make check` runs it)
"""

import io
import json
import logging
import os
import unittest

from genai_standin import local

local.import_template_infra()
import access  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)

# Not the other modules' regions: they share moto's backends when run together.
REGION = "ap-southeast-2"
PROJECT = local.project(
    REGION,
    {
        "chat-api": {
            "strategy": "chat",
            "trigger": "apigateway-rest",
            "route": "/v1/generate",
            "timeout-seconds": 29,
            "memory-mb": 256,
            "origin-secret": True,
            "cdn": {"prefix": "/v1", "origin-path": "/{stage}", "exact": False},
        }
    },
)


def stack(variable="CONFIG_SSM_PATH", secret="ORIGIN_SECRET", path="generate", timeout=29):
    """A REST strategy's stack as the project's deploys it, with one thing changed by hand."""
    function_arn = {"Fn::GetAtt": ["Fn", "Arn"]}
    uri = {"Fn::Sub": ["arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Arn}/invocations", {"Arn": function_arn}]}
    return json.dumps(
        {
            "Resources": {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
                    },
                },
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "FunctionName": "app-dev-chat-api",
                        "Runtime": "provided.al2023",
                        "Handler": "bootstrap",
                        "Timeout": timeout,
                        "MemorySize": 256,
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Code": {"S3Bucket": "access-code", "S3Key": "fn.zip"},
                        "Environment": {"Variables": {variable: "/app/dev/config", secret: "s3cret-value"}},
                    },
                },
                "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "app-dev-chat-api"}},
                "Resource": {
                    "Type": "AWS::ApiGateway::Resource",
                    "Properties": {"RestApiId": {"Ref": "Api"}, "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": path},
                },
                "Post": {
                    "Type": "AWS::ApiGateway::Method",
                    "Properties": {
                        "RestApiId": {"Ref": "Api"},
                        "ResourceId": {"Ref": "Resource"},
                        "HttpMethod": "POST",
                        "AuthorizationType": "NONE",
                        "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri},
                    },
                },
            }
        }
    )


class AsDeclared(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto, cls.session, cls.endpoint = local.start(REGION, "access-code")
        cls.cfn = cls.session.client("cloudformation", endpoint_url=cls.endpoint)
        cls.deploy(create=True)

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    @classmethod
    def deploy(cls, create=False, **changed):
        call = cls.cfn.create_stack if create else cls.cfn.update_stack
        call(StackName="app-dev-chat-api", TemplateBody=stack(**changed), Capabilities=["CAPABILITY_IAM"])
        status = cls.cfn.describe_stacks(StackName="app-dev-chat-api")["Stacks"][0]["StackStatus"]
        assert status.endswith("_COMPLETE") and "ROLLBACK" not in status, status

    def check(self, **changed):
        """as_declared's report on the stage deployed with `changed`, then the stack restored."""
        if changed:
            self.deploy(**changed)
        try:
            # Stage's clients find the endpoint as a user's would: AWS_ENDPOINT_URL.
            os.environ["AWS_ENDPOINT_URL"] = self.endpoint
            try:
                stage = access.Stage(PROJECT, self.session)
            finally:
                del os.environ["AWS_ENDPOINT_URL"]
            out = io.StringIO()
            report = access.Report(out)
            access.as_declared(stage, report, stage.functions())
            return report, out.getvalue()
        finally:
            if changed:
                self.deploy()

    def test_a_stage_deployed_as_declared_matches(self):
        report, out = self.check()
        self.assertEqual(0, report.refused, out)
        self.assertIn("as declared: app-dev-chat-api CONFIG_SSM_PATH=/app/dev/config", out)
        self.assertIn("as declared: REST POST /generate of", out)

    def test_a_renamed_configuration_variable_is_named(self):
        report, out = self.check(variable="CONFIG_PATH")
        self.assertEqual(1, report.refused, out)
        self.assertIn(
            "MISMATCH: app-dev-chat-api has no CONFIG_SSM_PATH in its environment, which its code reads (its variables: CONFIG_PATH, ORIGIN_SECRET): fix infra/sam/chat-api.yaml",
            out,
        )

    def test_a_renamed_origin_secret_variable_is_named_and_no_value_is_shown(self):
        # Deployed without it, the function refuses every request (crates/genai/src/config.rs).
        report, out = self.check(secret="ORIGIN_SECRETS")
        self.assertEqual(1, report.refused, out)
        self.assertIn(
            "MISMATCH: app-dev-chat-api has no ORIGIN_SECRET in its environment, which its code reads (its variables: CONFIG_SSM_PATH, ORIGIN_SECRETS): fix infra/sam/chat-api.yaml",
            out,
        )
        report, out = self.check()
        self.assertIn("as declared: app-dev-chat-api ORIGIN_SECRET is set (its value is not shown)", out)
        self.assertNotIn("s3cret-value", out)

    def test_a_moved_route_is_named_with_where_the_cdn_sends_it(self):
        report, out = self.check(path="gen")
        self.assertEqual(1, report.refused, out)
        self.assertIn("has no POST /generate, where the CDN sends /v1/generate (its methods: POST /gen)", out)

    def test_a_limit_other_than_declared_is_named(self):
        report, out = self.check(timeout=30)
        self.assertEqual(1, report.refused, out)
        self.assertIn("app-dev-chat-api deploys Timeout 30s, where services/chat-api/Cargo.toml declares timeout-seconds = 29", out)


if __name__ == "__main__":
    unittest.main()
