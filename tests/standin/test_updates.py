"""The stand-in updates a resource as CloudFormation does: in place (the same physical id, the
change seen by the service's API) unless the changed property is one CloudFormation's reference
marks "Update requires: Replacement". A redeploy after `genai-scaffold add` or `remove` changes
the CDN, the APIs and their stages; were they replaced here, the ids the stage published (the
distribution's, read by `make deploy-frontend` to invalidate) would name resources that are gone.

    python -m unittest discover -s tests/standin      (the repo's `make check` runs it)
"""

import json
import logging
import unittest

from genai_standin import local

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise

REGION = "eu-west-1"


class Updates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto, session, endpoint = local.start(REGION, "code")
        cls.client = staticmethod(lambda name: session.client(name, endpoint_url=endpoint))
        cls.cfn = session.client("cloudformation", endpoint_url=endpoint)
        cls.stacks = 0

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    # --- helpers ---------------------------------------------------------------------------

    def deploy(self, resources, stack=None):
        """Creates a stack of `resources` (a new one when `stack` is None) or updates it; returns
        its name and {logical id: physical id}."""
        body = json.dumps({"Resources": resources})
        if stack is None:
            type(self).stacks += 1
            stack = f"updates-{self.stacks}"
            self.cfn.create_stack(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
        else:
            self.cfn.update_stack(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
        status = self.cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        self.assertIn(status, ("CREATE_COMPLETE", "UPDATE_COMPLETE"), stack)
        listed = self.cfn.describe_stack_resources(StackName=stack)["StackResources"]
        return stack, {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in listed}

    def check(self, resources, logical_id, in_place, replacing=None):
        """Deploys `resources`, then `in_place(resources)` (same physical id expected), then, when
        given, `replacing(resources)` (a new one expected). Returns the three id maps."""
        stack, first = self.deploy(resources)
        _, second = self.deploy(in_place(json.loads(json.dumps(resources))), stack)
        self.assertEqual(first[logical_id], second[logical_id], f"{logical_id} was replaced by an in-place change")
        third = None
        if replacing:
            _, third = self.deploy(replacing(json.loads(json.dumps(resources))), stack)
            self.assertNotEqual(second[logical_id], third[logical_id], f"{logical_id} was not replaced")
        return first, second, third

    @staticmethod
    def function(name):
        return {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                        ],
                    }
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": name,
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"S3Bucket": "code", "S3Key": "fn.zip"},
                },
            },
        }

    # --- one test per type the stand-in models --------------------------------------------

    def test_a_distribution_is_updated_in_place(self):
        def config(comment):
            return {
                "Comment": comment,
                "Enabled": True,
                "Origins": [
                    {
                        "Id": "o",
                        "DomainName": "example.com",
                        "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"},
                        "OriginCustomHeaders": [{"HeaderName": "x-origin-verify", "HeaderValue": comment}],
                    }
                ],
                "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https"},
            }

        resources = {"Cdn": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": config("one")}}}

        def change(r):
            r["Cdn"]["Properties"]["DistributionConfig"] = config("two")
            return r

        _, after, _ = self.check(resources, "Cdn", change)
        got = self.client("cloudfront").get_distribution(Id=after["Cdn"])["Distribution"]["DistributionConfig"]
        self.assertEqual(got["Comment"], "two")
        # The origin's custom headers as the API gives them (the stage twin adds them).
        origin = self.client("cloudfront").get_distribution_config(Id=after["Cdn"])["DistributionConfig"]["Origins"]["Items"][0]
        self.assertEqual(origin["CustomHeaders"]["Items"], [{"HeaderName": "x-origin-verify", "HeaderValue": "two"}])

    def test_an_ssm_parameter_type_resolves_again_when_the_same_template_is_redeployed(self):
        # make rotate-origin-secret: the secret changes in Parameter Store, then the strategies'
        # unchanged templates are deployed again (a change set, as the CDK CLI and sam deploy
        # make one), and each function must hold the new value.
        ssm = self.client("ssm")
        ssm.put_parameter(Name="/updates/secret", Value="first", Type="String")
        resources = self.function("ssm-typed")
        resources["Fn"]["Properties"]["Environment"] = {"Variables": {"SECRET": {"Ref": "Secret"}, "KEPT": "as is"}}
        parameters = {"Secret": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/updates/secret"}}
        body = json.dumps({"Parameters": parameters, "Resources": resources})
        self.cfn.create_stack(StackName="updates-ssm", TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
        lambda_ = self.client("lambda")
        env = lambda: lambda_.get_function_configuration(FunctionName="ssm-typed")["Environment"]["Variables"]  # noqa: E731
        self.assertEqual(env(), {"SECRET": "first", "KEPT": "as is"})
        ssm.put_parameter(Name="/updates/secret", Value="second", Type="String", Overwrite=True)
        self.cfn.create_change_set(StackName="updates-ssm", ChangeSetName="again", ChangeSetType="UPDATE", TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
        # The CLIs execute only a change set that is ready and has changes.
        made = self.cfn.describe_change_set(StackName="updates-ssm", ChangeSetName="again")
        self.assertEqual((made["Status"], made["ExecutionStatus"]), ("CREATE_COMPLETE", "AVAILABLE"), made.get("StatusReason"))
        self.assertEqual([c["ResourceChange"]["LogicalResourceId"] for c in made["Changes"]], ["Fn"])
        self.cfn.execute_change_set(StackName="updates-ssm", ChangeSetName="again")
        self.assertEqual(env(), {"SECRET": "second", "KEPT": "as is"})

    def test_a_function_url_is_updated_in_place_and_replaced_for_another_function(self):
        second = self.function("url-two")
        resources = {
            **self.function("url-one"),
            "Role2": second["Role"],
            "Fn2": {**second["Fn"], "Properties": {**second["Fn"]["Properties"], "Role": {"Fn::GetAtt": ["Role2", "Arn"]}}},
            "Url": {"Type": "AWS::Lambda::Url", "Properties": {"TargetFunctionArn": {"Ref": "Fn"}, "AuthType": "NONE"}},
        }

        def change(r):
            r["Url"]["Properties"]["AuthType"] = "AWS_IAM"
            return r

        def other_function(r):
            r["Url"]["Properties"]["TargetFunctionArn"] = {"Ref": "Fn2"}
            return r

        _, after, _ = self.check(resources, "Url", change, other_function)
        config = self.client("lambda").get_function_url_config(FunctionName="url-two")
        self.assertEqual(config["AuthType"], "NONE")
        self.assertTrue(after["Url"].endswith("url-one"))

    def test_asynchronous_settings_are_updated_in_place(self):
        resources = {
            **self.function("async-one"),
            "Async": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {"FunctionName": {"Ref": "Fn"}, "Qualifier": "$LATEST", "MaximumRetryAttempts": 0},
            },
        }

        def change(r):
            r["Async"]["Properties"]["MaximumEventAgeInSeconds"] = 60
            return r

        self.check(resources, "Async", change)
        got = self.client("lambda").get_function_event_invoke_config(FunctionName="async-one")
        self.assertEqual(got["MaximumEventAgeInSeconds"], 60)

    def test_an_alias_is_kept_and_replaced_under_another_name(self):
        resources = {
            **self.function("alias-one"),
            "Alias": {"Type": "AWS::Lambda::Alias", "Properties": {"FunctionName": {"Ref": "Fn"}, "Name": "live", "FunctionVersion": "$LATEST"}},
        }

        def change(r):
            r["Alias"]["Properties"]["Description"] = "changed"
            return r

        def rename(r):
            r["Alias"]["Properties"]["Name"] = "next"
            return r

        self.check(resources, "Alias", change, rename)

    def test_a_bucket_policy_is_updated_in_place(self):
        def policy(action):
            return {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": action, "Resource": {"Fn::Sub": "${Bucket.Arn}/*"}}],
            }

        resources = {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": policy("s3:GetObject")}},
        }

        def change(r):
            r["Policy"]["Properties"]["PolicyDocument"] = policy("s3:PutObject")
            return r

        _, after, _ = self.check(resources, "Policy", change)
        got = json.loads(self.client("s3").get_bucket_policy(Bucket=after["Bucket"])["Policy"])
        self.assertEqual(got["Statement"][0]["Action"], "s3:PutObject")

    def test_a_cloudfront_function_keeps_its_arn_and_is_replaced_when_renamed(self):
        def function(name, code):
            return {
                "Type": "AWS::CloudFront::Function",
                "Properties": {
                    "Name": name,
                    "AutoPublish": True,
                    "FunctionConfig": {"Comment": "router", "Runtime": "cloudfront-js-2.0"},
                    "FunctionCode": code,
                },
            }

        resources = {"Router": function("router-one", "function handler(e) { return e.request; }")}

        def change(r):
            r["Router"] = function("router-one", "function handler(e) { return e.request; } // two")
            return r

        def rename(r):
            r["Router"] = function("router-two", "function handler(e) { return e.request; }")
            return r

        self.check(resources, "Router", change, rename)

    def test_an_origin_access_control_is_updated_in_place(self):
        def control(name):
            return {
                "Name": name,
                "OriginAccessControlOriginType": "lambda",
                "SigningBehavior": "always",
                "SigningProtocol": "sigv4",
            }

        resources = {"Oac": {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {"OriginAccessControlConfig": control("one")}}}

        def change(r):
            r["Oac"]["Properties"]["OriginAccessControlConfig"] = control("two")
            return r

        self.check(resources, "Oac", change)

    def test_cloudfront_policies_keep_their_ids(self):
        for kind in ("OriginRequestPolicy", "ResponseHeadersPolicy", "CachePolicy"):
            with self.subTest(kind):
                resources = {"Policy": {"Type": f"AWS::CloudFront::{kind}", "Properties": {f"{kind}Config": {"Name": "one"}}}}

                def change(r, kind=kind):
                    r["Policy"]["Properties"][f"{kind}Config"] = {"Name": "two"}
                    return r

                self.check(resources, "Policy", change)

    def test_a_websocket_api_its_route_integration_and_stage_are_updated_in_place(self):
        resources = {
            "Api": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {"Name": "ws-one", "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
            },
            "Integration": {
                "Type": "AWS::ApiGatewayV2::Integration",
                "Properties": {"ApiId": {"Ref": "Api"}, "IntegrationType": "AWS_PROXY", "IntegrationUri": "arn:one"},
            },
            "Route": {
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": {"ApiId": {"Ref": "Api"}, "RouteKey": "generate", "Target": {"Fn::Sub": "integrations/${Integration}"}},
            },
            "Stage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "dev", "Description": "one"},
            },
        }

        def change(r):
            r["Api"]["Properties"]["Name"] = "ws-two"
            r["Integration"]["Properties"]["IntegrationUri"] = "arn:two"
            r["Route"]["Properties"]["OperationName"] = "two"
            r["Stage"]["Properties"]["Description"] = "two"
            return r

        def http_api(r):
            r["Api"]["Properties"]["ProtocolType"] = "HTTP"
            r["Api"]["Properties"].pop("RouteSelectionExpression")
            return r

        _, after, _ = self.check(resources, "Api", change)
        for logical_id in ("Integration", "Route", "Stage"):
            self.assertIn(logical_id, after)
        v2 = self.client("apigatewayv2")
        api = after["Api"]
        self.assertEqual(v2.get_api(ApiId=api)["Name"], "ws-two")
        self.assertEqual(v2.get_integration(ApiId=api, IntegrationId=after["Integration"])["IntegrationUri"], "arn:two")
        self.assertEqual(v2.get_stage(ApiId=api, StageName="dev")["Description"], "two")
        # The protocol is the one property whose change makes another API.
        stack, before = self.deploy(resources)
        _, replaced = self.deploy(http_api(json.loads(json.dumps(resources))), stack)
        self.assertNotEqual(before["Api"], replaced["Api"])

    def test_a_rest_apis_stage_validator_gateway_response_and_model_are_updated_in_place(self):
        resources = {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api-one"}},
            "Method": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "HttpMethod": "GET",
                    "AuthorizationType": "NONE",
                    "Integration": {"Type": "HTTP_PROXY", "IntegrationHttpMethod": "GET", "Uri": "https://example.com"},
                },
            },
            "Deployment": {"Type": "AWS::ApiGateway::Deployment", "DependsOn": "Method", "Properties": {"RestApiId": {"Ref": "Api"}}},
            "Stage": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "dev", "DeploymentId": {"Ref": "Deployment"}, "Description": "one"},
            },
            "Validator": {
                "Type": "AWS::ApiGateway::RequestValidator",
                "Properties": {"RestApiId": {"Ref": "Api"}, "Name": "body", "ValidateRequestBody": True},
            },
            "Throttled": {
                "Type": "AWS::ApiGateway::GatewayResponse",
                "Properties": {"RestApiId": {"Ref": "Api"}, "ResponseType": "THROTTLED", "StatusCode": "429"},
            },
            "Model": {
                "Type": "AWS::ApiGateway::Model",
                "Properties": {"RestApiId": {"Ref": "Api"}, "Name": "Request", "ContentType": "application/json", "Schema": {"type": "object"}},
            },
        }

        def change(r):
            r["Stage"]["Properties"]["Description"] = "two"
            r["Validator"]["Properties"]["ValidateRequestParameters"] = True
            r["Throttled"]["Properties"]["StatusCode"] = "503"
            r["Model"]["Properties"]["Schema"] = {"type": "string"}
            return r

        stack, before = self.deploy(resources)
        _, after = self.deploy(change(json.loads(json.dumps(resources))), stack)
        for logical_id in ("Stage", "Validator", "Throttled", "Model"):
            self.assertEqual(before[logical_id], after[logical_id], f"{logical_id} was replaced by an in-place change")
        gateway = self.client("apigateway")
        validator = gateway.get_request_validator(restApiId=after["Api"], requestValidatorId=after["Validator"])
        self.assertTrue(validator["validateRequestParameters"])
        response = gateway.get_gateway_response(restApiId=after["Api"], responseType="THROTTLED")
        self.assertEqual(response["statusCode"], "503")

        def rename(r):
            r["Validator"]["Properties"]["Name"] = "params"
            r["Model"]["Properties"]["Name"] = "Other"
            return r

        _, renamed = self.deploy(rename(change(json.loads(json.dumps(resources)))), stack)
        for logical_id in ("Validator", "Model"):
            self.assertNotEqual(after[logical_id], renamed[logical_id], f"{logical_id} was not replaced")

    def test_a_rest_apis_paths_move_as_a_stack_update_moves_them(self):
        """A SAM API's OpenAPI body imported again in place; a CDK API's resource replaced when
        its path part changes, its method following it; a method changed on its resource."""

        def body(path):
            operation = {"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "POST", "uri": "https://example.com"}}
            return {"openapi": "3.0.1", "info": {"title": "body", "version": "1"}, "paths": {path: {"post": operation}}}

        def paths(api):
            items = self.client("apigateway").get_resources(restApiId=api)["items"]
            return sorted(f"{m} {r['path']}" for r in items for m in r.get("resourceMethods", {}))

        sam = {"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "sam-api", "Body": body("/generate")}}}
        stack, before = self.deploy(sam)
        sam["Api"]["Properties"]["Body"] = body("/gen")
        _, after = self.deploy(sam, stack)
        self.assertEqual(before["Api"], after["Api"], "a new body replaced the API")
        self.assertEqual(["POST /gen"], paths(after["Api"]))

        def cdk(path_part, verb):
            return {
                "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "cdk-api"}},
                "Path": {
                    "Type": "AWS::ApiGateway::Resource",
                    "Properties": {"RestApiId": {"Ref": "Api"}, "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "PathPart": path_part},
                },
                "Post": {
                    "Type": "AWS::ApiGateway::Method",
                    "Properties": {
                        "RestApiId": {"Ref": "Api"},
                        "ResourceId": {"Ref": "Path"},
                        "HttpMethod": verb,
                        "AuthorizationType": "NONE",
                        "Integration": {"Type": "HTTP_PROXY", "IntegrationHttpMethod": "POST", "Uri": "https://example.com"},
                    },
                },
            }

        stack, before = self.deploy(cdk("generate", "POST"))
        _, moved = self.deploy(cdk("gen", "POST"), stack)
        self.assertEqual(before["Api"], moved["Api"])
        self.assertNotEqual(before["Path"], moved["Path"], "a new path part kept the resource")
        self.assertEqual(["POST /gen"], paths(moved["Api"]))
        _, changed = self.deploy(cdk("gen", "PUT"), stack)
        self.assertEqual(moved["Path"], changed["Path"])
        self.assertEqual(["PUT /gen"], paths(changed["Api"]))

    def test_an_alarm_and_a_budget_keep_their_ids(self):
        alarm = {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        }
        budget = {"BudgetType": "COST", "TimeUnit": "MONTHLY", "BudgetLimit": {"Amount": 10, "Unit": "USD"}}
        resources = {
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {**alarm, "AlarmName": "one"}},
            "Budget": {"Type": "AWS::Budgets::Budget", "Properties": {"Budget": budget}},
        }

        def change(r):
            r["Alarm"]["Properties"]["Threshold"] = 2
            r["Budget"]["Properties"]["Budget"]["BudgetLimit"]["Amount"] = 20
            return r

        def rename(r):
            r["Alarm"]["Properties"]["AlarmName"] = "two"
            return r

        first, second, _ = self.check(resources, "Alarm", change, rename)
        self.assertEqual(first["Budget"], second["Budget"])


if __name__ == "__main__":
    unittest.main()
