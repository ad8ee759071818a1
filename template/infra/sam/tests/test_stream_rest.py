"""What the REST streaming strategy's templates (stream-rest.yaml, cdn/stream-rest.yaml) must
hold, as CloudFormation sees them (tests/transform.py); the checks every strategy shares are in
test_templates.py."""

import json
import unittest

from test_templates import (
    cdn,
    conditions,
    deployed,
    distribution,
    function,
    gateway_alarm,
    origins_of,
    parameters,
    requires_origin_secret,
    resolve,
    resources,
    templates,
    transform,
)

SERVICE = "stream-rest"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


class StreamRest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = templates()[SERVICE]
        cls.cdn = templates()["cdn"]
        cls.declared = transform.PROJECT["services"][SERVICE]
        (api,) = resources(cls.template, "AWS::ApiGateway::RestApi")
        cls.api = api["Properties"]
        # The methods on the resource the CDN sends the route to (none if the API lacks it:
        # test_templates.py says where it is).
        cls.methods = cls.api["Body"]["paths"].get(parameters.deploy_model.api_path(cls.declared), {})

    def integration(self, method):
        return self.methods[method]["x-amazon-apigateway-integration"]

    def test_every_method_streams_through_invoke_with_response_stream(self):
        # A buffered integration, or the /invocations URI with STREAM, returns no body (or is
        # refused): the mode and the URI must agree
        # (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html).
        self.assertEqual(sorted(self.methods), ["options", "post"])
        for method in self.methods:
            integration = self.integration(method)
            self.assertEqual((integration["type"], integration["httpMethod"]), ("aws_proxy", "POST"), method)
            self.assertEqual(integration.get("responseTransferMode"), "STREAM", method)
            uri = integration["uri"]["Fn::Sub"]
            self.assertRegex(uri, r"^arn:[^:]+:apigateway:\$\{AWS::Region\}:lambda:path/2021-11-15/functions/", method)
            self.assertTrue(uri.endswith("/functions/${Function.Arn}/response-streaming-invocations"), uri)
            # Nothing that needs the whole response first: no integration responses (VTL).
            self.assertNotIn("responses", integration, method)

    def test_the_gateway_waits_as_long_as_the_function_may_run(self):
        # Past the integration timeout API Gateway ends the stream itself: it must not end one
        # the function may still be writing.
        integration = self.integration("post")
        self.assertIn("timeoutInMillis", integration, "without it API Gateway ends every stream at 29 s")
        waits = deployed(integration["timeoutInMillis"], SERVICE, self.template)
        runs = deployed(function(self.template, SERVICE)["Properties"]["Timeout"], SERVICE, self.template)
        self.assertEqual(int(waits), self.declared["timeout-seconds"] * 1000)
        self.assertEqual(int(waits), int(runs) * 1000)

    def test_is_regional_uncached_and_uncompressed(self):
        # An edge-optimized endpoint ends a stream after 30 s without a byte, and caching or
        # content encoding would buffer it (response-transfer-mode.html).
        self.assertEqual(self.api["EndpointConfiguration"], {"Types": ["REGIONAL"]})
        self.assertNotIn("MinimumCompressionSize", self.api)
        (stage,) = resources(self.template, "AWS::ApiGateway::Stage")
        self.assertFalse(stage["Properties"].get("CacheClusterEnabled", False))
        for setting in stage["Properties"]["MethodSettings"]:
            self.assertFalse(setting.get("CachingEnabled", False), setting)

    def test_is_validated_throttled_logged_and_answers_protocol_errors(self):
        (stage,) = resources(self.template, "AWS::ApiGateway::Stage")
        self.assertIn("ThrottlingRateLimit", stage["Properties"]["MethodSettings"][0])
        self.assertIn("DestinationArn", stage["Properties"]["AccessLogSetting"])
        # The body is checked before the function runs, and a bad one is answered 400 in the
        # protocol's shape.
        validators = self.api["Body"]["x-amazon-apigateway-request-validators"]
        self.assertTrue(validators[self.methods["post"]["x-amazon-apigateway-request-validator"]]["validateRequestBody"])
        responses = self.api["Body"]["x-amazon-apigateway-gateway-responses"]
        for kind, code in (("BAD_REQUEST_BODY", "BAD_REQUEST"), ("THROTTLED", "THROTTLED"), ("DEFAULT_5XX", "INTERNAL_ERROR")):
            body = responses[kind]["responseTemplates"]["application/json"]
            self.assertIn(f'"code":"{code}"', body, kind)
            self.assertTrue(body.startswith('{"error":{'), kind)

    def test_lets_the_function_answer_cors_preflights(self):
        self.assertNotIn("security", self.methods["options"], "a browser sends preflights without credentials")
        self.assertNotIn("x-amazon-apigateway-request-validator", self.methods["options"], "a preflight has no body")

    def test_x_ray_traces_only_when_the_stage_asks(self):
        # X-Ray costs per trace: off unless TRACING=on (infra/project.py keeps it per stage).
        (stage,) = resources(self.template, "AWS::ApiGateway::Stage")
        traced = stage["Properties"]["TracingEnabled"]
        self.assertEqual(transform.stack_parameters(SERVICE)["Tracing"], "off")
        self.assertEqual(resolve(traced, conditions(SERVICE, self.template)), False)
        on = parameters.parameters(SERVICE, {"STAGE": "test", "TRACING": "on"}, account=transform.ACCOUNT, remembered={})
        self.assertEqual(on["Tracing"], "on")
        self.assertEqual(resolve(traced, {"Traced": True}), True)

    def test_api_errors_alarm_on_this_api(self):
        self.assertEqual(gateway_alarm(self.template), "5XXError")
        (alarm,) = [r["Properties"] for r in resources(self.template, "AWS::CloudWatch::Alarm") if r["Properties"]["MetricName"] == "5XXError"]
        dimensions = {d["Name"]: deployed(d["Value"], SERVICE, self.template) for d in alarm["Dimensions"]}
        self.assertEqual(dimensions["ApiName"], deployed(self.api["Name"], SERVICE, self.template))
        self.assertEqual(dimensions["Stage"], transform.ENV["STAGE"])

    def test_api_gateway_may_invoke_the_function_only_from_this_api(self):
        # InvokeWithResponseStream needs lambda:InvokeFunction and no other action
        # (https://docs.aws.amazon.com/lambda/latest/dg/API_InvokeWithResponseStream.html).
        permissions = [p["Properties"] for p in resources(self.template, "AWS::Lambda::Permission")]
        self.assertEqual(len(permissions), len(self.methods))
        for permission in permissions:
            self.assertEqual(permission["Action"], "lambda:InvokeFunction")
            self.assertEqual(permission["Principal"], "apigateway.amazonaws.com")
            arn, values = permission["SourceArn"]["Fn::Sub"]
            self.assertEqual(values["__ApiId__"], {"Ref": "Api"})
            self.assertRegex(arn, r":execute-api:.*\$\{__ApiId__\}/\$\{__Stage__\}/(POST|OPTIONS)/$")

    def test_only_requests_through_the_cdn_are_answered(self):
        self.assertTrue(requires_origin_secret(SERVICE))

    def test_the_cdn_streams_the_route_uncached_and_uncompressed_to_the_stage_root(self):
        config = distribution(self.cdn)
        (origin,) = [o for o in config["Origins"] if o["Id"] in origins_of(SERVICE)]
        self.assertEqual(origin["DomainName"], {"Ref": "RestStreamDomain"})
        self.assertEqual(
            origin["OriginCustomHeaders"],
            [{"HeaderName": transform.PROJECT["originSecret"]["header"], "HeaderValue": {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "OriginSecret"}]}]}}],
        )
        # Longer than the service's 10 s keep-alive with room to spare: the timeout bounds each
        # gap in the stream, not the stream.
        self.assertEqual(origin["CustomOriginConfig"]["OriginReadTimeout"], 30)
        route = self.declared["route"]
        behaviors = [b for b in config["CacheBehaviors"] if b["TargetOriginId"] == origin["Id"]]
        self.assertEqual(sorted(b["PathPattern"] for b in behaviors), [route, f"{route}/*"])
        for behavior in behaviors:
            self.assertFalse(behavior["Compress"], "compression would buffer the stream")
            self.assertEqual(behavior["CachePolicyId"], CACHING_DISABLED)
            self.assertLessEqual({"POST", "OPTIONS"}, set(behavior["AllowedMethods"]))
            # The router rewrites the route to the stage root (and 404s below it).
            self.assertEqual([f["EventType"] for f in behavior["FunctionAssociations"]], ["viewer-request"])
        self.assertIn(f"{self.declared['cdn']['prefix']}:/test:exact", transform.stack_parameters("cdn")["Routes"].split(","))

    def test_the_cdn_reads_the_domain_this_stack_publishes(self):
        (published,) = [
            deployed(r["Properties"]["Name"], SERVICE, self.template).split("/deploy/")[1]
            for r in resources(self.template, "AWS::SSM::Parameter")
            if json.dumps(r["Properties"]["Value"]) == json.dumps({"Fn::Sub": "${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"})
        ]
        self.assertEqual(cdn.fragments()[SERVICE]["Published"]["RestStreamDomain"], published)


if __name__ == "__main__":
    unittest.main()
