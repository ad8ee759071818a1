"""A generated project's stage twin reader (template/infra/twin.py, `make dev STAGE=<stage>`)
against a stage deployed on the stand-in: each function of the deploy model under the name its
code declares it by, with what the stage deployed (name, environment, timeout, memory, reserved
concurrency) and its deployed code where this machine's architecture runs it; the CDN's behaviours in CloudFront's order with the headers each origin adds; and
a function the code runs as but the stage lacks, named with what to deploy.

    python -m unittest discover -s tests/standin      (the repo's `make check` runs it)
"""

import json
import logging
import os
import tempfile
import unittest
from pathlib import Path

from genai_standin import local

local.import_template_infra()
import access  # noqa: E402
import twin  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)

# Not the other modules' regions: they share moto's backends when run together.
REGION = "eu-north-1"
PROJECT = local.project(
    REGION,
    {
        "chat-api": {"trigger": "apigateway-rest", "route": "/v1/generate", "origin-secret": True},
        "chat-stream": {"trigger": "apigateway-rest-streaming", "route": "/talk", "origin-secret": True},
        "chat-ws": {"trigger": "apigateway-websocket", "route": "/live", "worker": {"function": "chat-ws-generate"}},
    },
)


def function(name, env, reserved=None):
    properties = {
        "FunctionName": name,
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Timeout": 29,
        "MemorySize": 256,
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Code": {"S3Bucket": "twin-code", "S3Key": "fn.zip"},
        "Environment": {"Variables": env},
    }
    if reserved is not None:
        properties["ReservedConcurrentExecutions"] = reserved
    return {"Type": "AWS::Lambda::Function", "Properties": properties}


ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    },
}

CHAT_API_ENV = {"CONFIG_SSM_PATH": "/app/dev/config", "ORIGIN_SECRET": "s3cret", "MODEL_ID": "amazon.nova-micro-v1:0"}

# The chat API's one method, POST /generate, with its Lambda proxy integration.
REST_API = {
    "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "app-dev-chat-api"}},
    "Resource": {
        "Type": "AWS::ApiGateway::Resource",
        "Properties": {"RestApiId": {"Ref": "Api"}, "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": "generate"},
    },
    "Post": {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ResourceId": {"Ref": "Resource"},
            "HttpMethod": "POST",
            "AuthorizationType": "NONE",
            "Integration": {
                "Type": "AWS_PROXY",
                "IntegrationHttpMethod": "POST",
                "Uri": {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"},
            },
        },
    },
}

# The streaming chat's API: POST / (where the CDN sends /talk) streams the function's answer.
STREAMING_REST_API = {
    "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "app-dev-chat-stream"}},
    "Post": {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "HttpMethod": "POST",
            "AuthorizationType": "NONE",
            "Integration": {
                "Type": "AWS_PROXY",
                "IntegrationHttpMethod": "POST",
                "Uri": {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${Fn.Arn}/response-streaming-invocations"},
                "ResponseTransferMode": "STREAM",
            },
        },
    },
}

CDN = {
    "Cdn": {
        "Type": "AWS::CloudFront::Distribution",
        "Properties": {
            "DistributionConfig": {
                "Enabled": True,
                "Origins": [
                    {"Id": "web", "DomainName": "web.example.com", "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"}},
                    {
                        "Id": "api",
                        "DomainName": "api.example.com",
                        "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"},
                        "OriginCustomHeaders": [{"HeaderName": "x-origin-verify", "HeaderValue": "s3cret"}],
                    },
                ],
                "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "redirect-to-https"},
                "CacheBehaviors": [{"PathPattern": "/v1/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "https-only"}],
            }
        },
    }
}


class Twin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto, cls.session, cls.endpoint = local.start(REGION, "twin-code")
        cfn = cls.session.client("cloudformation", endpoint_url=cls.endpoint)
        stacks = {
            "app-dev-chat-api": {
                "Role": ROLE,
                "Fn": function("app-dev-chat-api", CHAT_API_ENV),
                # Its failures go to another stack's function, by ARN, as a destination names one.
                "Async": {
                    "Type": "AWS::Lambda::EventInvokeConfig",
                    "Properties": {
                        "FunctionName": {"Ref": "Fn"},
                        "Qualifier": "$LATEST",
                        "MaximumRetryAttempts": 0,
                        "MaximumEventAgeInSeconds": 60,
                        "DestinationConfig": {"OnFailure": {"Destination": f"arn:aws:lambda:{REGION}:123456789012:function:app-dev-chat-ws"}},
                    },
                },
                **REST_API,
            },
            "app-dev-chat-stream": {"Role": ROLE, "Fn": function("app-dev-chat-stream", CHAT_API_ENV), **STREAMING_REST_API},
            # The worker's function is missing: deployed by hand without it.
            "app-dev-chat-ws": {"Role": ROLE, "Fn": function("app-dev-chat-ws", {"GENERATE_FUNCTION": "app-dev-chat-ws-generate"}, reserved=7)},
            "app-dev-cdn": CDN,
        }
        for name, resources in stacks.items():
            cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}), Capabilities=["CAPABILITY_IAM"])
            status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
            assert status == "CREATE_COMPLETE", (name, status)
        # The reader's clients find the endpoint as a user's would: AWS_ENDPOINT_URL.
        os.environ["AWS_ENDPOINT_URL"] = cls.endpoint
        try:
            cls.stage = access.Stage(PROJECT, cls.session)
        finally:
            del os.environ["AWS_ENDPOINT_URL"]

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def test_each_function_is_read_under_its_declared_name_as_deployed(self):
        found, _ = twin.functions(self.stage)
        self.assertEqual(
            found["chat-api"],
            {
                "name": "app-dev-chat-api",
                "env": CHAT_API_ENV,
                "timeout_seconds": 29,
                "memory_mb": 256,
                "reserved_concurrency": None,
                "asynchronous": {"retries": 0, "max_event_age_seconds": 60, "on_failure": "app-dev-chat-ws"},
            },
        )
        # No asynchronous configuration deployed: Lambda's defaults, and no destination.
        self.assertEqual(found["chat-ws"]["asynchronous"], {"retries": 2, "max_event_age_seconds": 21600, "on_failure": None})
        self.assertEqual(found["chat-ws"]["reserved_concurrency"], 7)
        self.assertEqual(found["chat-ws"]["env"], {"GENERATE_FUNCTION": "app-dev-chat-ws-generate"})

    def test_the_deployed_code_is_fetched_where_this_machines_architecture_runs_it(self):
        found, _ = twin.functions(self.stage)
        with tempfile.TemporaryDirectory() as folder:
            earlier = Path(folder) / "an-earlier-deployment"
            earlier.mkdir()
            # moto deploys for x86_64 (Lambda's default), the packages the stand-in serves.
            twin.fetch_code(self.stage, found, Path(folder), machine="Linux x86_64")
            self.assertFalse(earlier.exists(), "an earlier deployment's package is left")
            bootstrap = Path(found["chat-api"]["code"])
            self.assertEqual(bootstrap.read_bytes(), b"#!/bin/sh\nexit 1\n")
            self.assertTrue(os.access(bootstrap, os.X_OK), bootstrap)
            # One package, one download: kept by its hash.
            self.assertEqual(found["chat-ws"]["code"], str(bootstrap))
            self.assertEqual(len(list(Path(folder).iterdir())), 1)
            found, _ = twin.functions(self.stage)
            twin.fetch_code(self.stage, found, Path(folder), machine="Linux arm64")
            self.assertIsNone(found["chat-api"]["code"])
            self.assertEqual(found["chat-api"]["code_note"], "deployed for Linux x86_64, and this machine is Linux arm64")

    def test_a_function_the_code_runs_as_but_not_deployed_is_named_with_its_deploy(self):
        found, missing = twin.functions(self.stage)
        self.assertNotIn("chat-ws-generate", found)
        self.assertEqual(missing, ["app-dev-chat-ws-generate (make deploy-chat-ws)"])

    def test_the_calls_a_functions_role_refuses_are_kept_by_function(self):
        # Its role has no policy: its configuration and the model are refused, as AWS would.
        refused = twin.refused_calls(self.stage)["app-dev-chat-api"]
        self.assertEqual(
            [(call["action"], call["resource"]) for call in refused],
            [
                ("ssm:GetParametersByPath", f"arn:aws:ssm:{REGION}:123456789012:parameter/app/dev/config"),
                ("bedrock:InvokeModelWithResponseStream", f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-micro-v1:0"),
            ],
        )
        self.assertTrue(refused[0]["message"].startswith("User: arn:aws:iam::123456789012:role/"), refused[0])

    def test_each_rest_apis_methods_are_read_for_its_service(self):
        # A streaming REST API's too: the local gateway refuses a method it lacks the same way.
        self.assertEqual(twin.rest_methods(self.stage), {"chat-api": ["POST /generate"], "chat-stream": ["POST /"]})

    def test_the_cdn_behaviours_come_in_cloudfronts_order_with_their_origin_headers(self):
        self.assertEqual(
            twin.behaviours(self.stage),
            [
                {"path_pattern": "/v1/*", "origin_headers": {"x-origin-verify": "s3cret"}},
                {"path_pattern": "*", "origin_headers": {}},
            ],
        )


if __name__ == "__main__":
    unittest.main()
