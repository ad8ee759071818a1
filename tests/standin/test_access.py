"""A generated project's `make check-access` (template/infra/access.py) against a deployed stage
on the stand-in: what its code expects of the deployment (`as_declared`: the configuration's
variable, the declared limits, the route through the CDN's rewrite, an integration that streams
for a streaming REST trigger) holds for a stage deployed as declared, and each difference a hand
edit of a stack makes is named, with the file to fix.

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
        },
        # A REST API whose one method streams the function's answer, at the stage's root.
        "chat-stream": {
            "strategy": "chat-stream",
            "trigger": "apigateway-rest-streaming",
            "route": "/talk",
            "timeout-seconds": 300,
            "memory-mb": 256,
            "origin-secret": True,
            "cdn": {"prefix": "/talk", "origin-path": "/{stage}", "exact": True},
        },
    },
)
# How API Gateway invokes a function, by the integration URI's path after `:lambda:path`
# (response-transfer-mode-lambda.html): Invoke, or InvokeWithResponseStream.
BUFFERED = "2015-03-31/functions/${Arn}/invocations"
STREAMING = "2021-11-15/functions/${Arn}/response-streaming-invocations"


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


def streaming_stack(invoke=STREAMING, mode="STREAM", body=False):
    """A streaming REST strategy's stack: its function, and a REST API whose POST / (where the
    CDN's exact rule sends /talk) is a Lambda proxy integration invoking it by `invoke` in
    response transfer mode `mode` (None: not written, API Gateway's default BUFFERED), deployed
    to stage dev with the permission API Gateway invokes the function by. The method is an
    AWS::ApiGateway::Method, as CDK writes it, or with `body` in the API's OpenAPI body, as SAM
    writes it."""
    uri = {"Fn::Sub": [f"arn:aws:apigateway:${{AWS::Region}}:lambda:path/{invoke}", {"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}]}
    integration = {"type": "aws_proxy", "httpMethod": "POST", "uri": uri} | ({"responseTransferMode": mode} if mode else {})
    resources = {
        "Role": json.loads(stack())["Resources"]["Role"],
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "app-dev-chat-stream",
                "Runtime": "provided.al2023",
                "Handler": "bootstrap",
                "Timeout": 300,
                "MemorySize": 256,
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"S3Bucket": "access-code", "S3Key": "fn.zip"},
                "Environment": {"Variables": {"CONFIG_SSM_PATH": "/app/dev/config", "ORIGIN_SECRET": "s3cret-value"}},
            },
        },
        "Deployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": {"Ref": "Api"}}},
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "dev", "DeploymentId": {"Ref": "Deployment"}}},
        "Invoke": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": "Fn"},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {"Fn::Sub": "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/POST/"},
            },
        },
    }
    if body:
        document = {"openapi": "3.0.1", "info": {"title": "app-dev-chat-stream", "version": "1"}, "paths": {"/": {"post": {"x-amazon-apigateway-integration": integration}}}}
        resources["Api"] = {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "app-dev-chat-stream", "Body": document}}
    else:
        resources["Api"] = {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "app-dev-chat-stream"}}
        resources["Post"] = {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "HttpMethod": "POST",
                "AuthorizationType": "NONE",
                "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri} | ({"ResponseTransferMode": mode} if mode else {}),
            },
        }
        resources["Deployment"]["DependsOn"] = ["Post"]
    return json.dumps({"Resources": resources})


class AsDeclared(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto, cls.session, cls.endpoint = local.start(REGION, "access-code")
        cls.cfn = cls.session.client("cloudformation", endpoint_url=cls.endpoint)
        cls.deploy(create=True)
        cls.deploy(create=True, streaming={})

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    @classmethod
    def deploy(cls, create=False, streaming=None, **changed):
        """Deploys the REST service's stack with `changed`, or with `streaming` (changes, maybe
        none) the streaming one's. That one is made anew each time: moto's stack update loses
        track of an API's methods when they move between Method resources and an OpenAPI body."""
        name, template = ("app-dev-chat-api", stack(**changed)) if streaming is None else ("app-dev-chat-stream", streaming_stack(**streaming))
        if streaming is not None and not create:
            cls.cfn.delete_stack(StackName=name)
            create = True
        call = cls.cfn.create_stack if create else cls.cfn.update_stack
        call(StackName=name, TemplateBody=template, Capabilities=["CAPABILITY_IAM"])
        status = cls.cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        assert status.endswith("_COMPLETE") and "ROLLBACK" not in status, status

    def stage(self):
        # Stage's clients find the endpoint as a user's would: AWS_ENDPOINT_URL.
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        try:
            return access.Stage(PROJECT, self.session)
        finally:
            del os.environ["AWS_ENDPOINT_URL"]

    def check(self, streaming=None, **changed):
        """as_declared's report on the stage deployed with `changed` (or `streaming`, the
        streaming service's changes), then the stack restored."""
        if changed or streaming:
            self.deploy(streaming=streaming, **changed)
        try:
            stage = self.stage()
            out = io.StringIO()
            report = access.Report(out)
            access.as_declared(stage, report, stage.functions())
            return report, out.getvalue()
        finally:
            if changed or streaming:
                self.deploy(streaming={} if streaming else None)

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

    def test_a_streaming_rest_api_deployed_as_declared_matches(self):
        report, out = self.check()
        self.assertEqual(0, report.refused, out)
        self.assertRegex(out, r"as declared: REST POST / of \w+ → app-dev-chat-stream\n")
        self.assertRegex(
            out,
            r"as declared: REST POST / of \w+ streams app-dev-chat-stream \(AWS_PROXY, \.\.\./2021-11-15/functions/<function ARN>/response-streaming-invocations, STREAM\)",
        )
        # A buffered REST service is not asked to stream.
        self.assertNotIn("streams app-dev-chat-api", out)

    def test_a_buffered_integration_of_a_streaming_function_is_named_with_the_fix(self):
        # What a Lambda integration without a transfer mode is (CDK's LambdaIntegration without
        # responseTransferMode; SAM's with ResponseTransferMode other than RESPONSE_STREAM).
        for shape in ({}, {"body": True}):
            with self.subTest(shape):
                report, out = self.check(streaming={"invoke": BUFFERED, "mode": None, **shape})
                self.assertEqual(1, report.refused, out)
                self.assertRegex(
                    out,
                    r"MISMATCH: REST POST / of \w+ does not stream what app-dev-chat-stream writes \("
                    r"URI \.\.\./2015-03-31/functions/<function ARN>/invocations, not \.\.\./2021-11-15/functions/<function ARN>/response-streaming-invocations; "
                    r"responseTransferMode BUFFERED, not STREAM\): a buffered integration answers its headers and status without the body; "
                    r"it must be a Lambda proxy integration in response transfer mode STREAM, which calls InvokeWithResponseStream: "
                    r"fix infra/sam/chat-stream.yaml and deploy it again \(make deploy-chat-stream\)\n",
                )

    def test_a_streaming_integration_in_an_openapi_body_matches(self):
        # SAM writes the API's methods into its OpenAPI body, the mode as responseTransferMode.
        report, out = self.check(streaming={"body": True})
        self.assertEqual(0, report.refused, out)
        self.assertIn("streams app-dev-chat-stream (AWS_PROXY,", out)

    def test_api_gateway_may_invoke_a_function_through_an_integration_that_streams(self):
        # InvokeWithResponseStream is authorized as lambda:InvokeFunction: the same permission.
        out = io.StringIO()
        report = access.Report(out)
        access.apis_to_functions(self.stage(), report)
        self.assertEqual(0, report.refused, out.getvalue())
        self.assertRegex(out.getvalue(), r"allowed: REST POST / of \w+/dev → function: apigateway.amazonaws.com may lambda:InvokeFunction on arn:aws:lambda:[^ ]+:function:app-dev-chat-stream ")

    def test_a_limit_other_than_declared_is_named(self):
        report, out = self.check(timeout=30)
        self.assertEqual(1, report.refused, out)
        self.assertIn("app-dev-chat-api deploys Timeout 30s, where services/chat-api/Cargo.toml declares timeout-seconds = 29", out)


if __name__ == "__main__":
    unittest.main()
