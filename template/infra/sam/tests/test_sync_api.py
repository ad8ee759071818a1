"""What the REST strategy's templates (sync-api.yaml, cdn/sync-api.yaml) must hold, as
CloudFormation sees them (tests/transform.py); the checks every strategy shares are in
test_templates.py."""

import json
import unittest

from test_templates import conditions, distribution, gateway_alarm, origins_of, parameters, requires_origin_secret, resolve, resources, templates, transform

SERVICE = "sync-api"


class SyncApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = templates()[SERVICE]
        cls.cdn = templates()["cdn"]

    def test_is_validated_throttled_logged_and_answers_protocol_errors(self):
        (stage,) = resources(self.template, "AWS::ApiGateway::Stage")
        self.assertIn("ThrottlingRateLimit", stage["Properties"]["MethodSettings"][0])
        self.assertIn("DestinationArn", stage["Properties"]["AccessLogSetting"])
        self.assertTrue(resources(self.template, "AWS::ApiGateway::RequestValidator") or "x-amazon-apigateway-request-validators" in json.dumps(self.template))
        self.assertIn('\\"code\\":\\"THROTTLED\\"', json.dumps(self.template))

    def test_lets_the_function_answer_cors_preflights(self):
        (api,) = resources(self.template, "AWS::ApiGateway::RestApi")
        preflight = api["Properties"]["Body"]["paths"]["/generate"]["options"]
        self.assertEqual(preflight["x-amazon-apigateway-integration"]["type"], "aws_proxy")
        self.assertNotIn("security", preflight, "a browser sends preflights without credentials")

    def test_x_ray_traces_only_when_the_stage_asks(self):
        # X-Ray costs per trace: off unless TRACING=on (infra/project.py keeps it per stage).
        (stage,) = resources(self.template, "AWS::ApiGateway::Stage")
        traced = stage["Properties"]["TracingEnabled"]
        self.assertEqual(transform.stack_parameters(SERVICE)["Tracing"], "off")
        self.assertEqual(resolve(traced, conditions(SERVICE, self.template)), False)
        on = parameters.parameters(SERVICE, {"STAGE": "test", "TRACING": "on"}, account=transform.ACCOUNT, remembered={})
        self.assertEqual(on["Tracing"], "on")
        self.assertEqual(resolve(traced, {"Traced": True}), True)

    def test_api_errors_alarm(self):
        self.assertEqual(gateway_alarm(self.template), "5XXError")

    def test_only_requests_through_the_cdn_are_answered(self):
        self.assertTrue(requires_origin_secret(SERVICE))

    def test_the_cdn_sends_api_paths_to_the_stage(self):
        config = distribution(self.cdn)
        (origin,) = [o for o in config["Origins"] if o["Id"] in origins_of(SERVICE)]
        self.assertEqual(origin["DomainName"], {"Ref": "RestDomain"})
        behaviors = [b for b in config["CacheBehaviors"] if b["TargetOriginId"] == origin["Id"]]
        self.assertEqual([b["PathPattern"] for b in behaviors], ["/api/*"])
        self.assertIn("/api:/test:", transform.stack_parameters("cdn")["Routes"].split(","))


if __name__ == "__main__":
    unittest.main()
