"""What the WebSocket strategy's templates (realtime-ws.yaml, cdn/realtime-ws.yaml) must hold,
as CloudFormation sees them (tests/transform.py); the checks every strategy shares are in
test_templates.py."""

import json
import unittest

from test_templates import deployed, distribution, function, gateway_alarm, origins_of, requires_origin_secret, resources, templates, transform

SERVICE = "realtime-ws"


class RealtimeWs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = templates()[SERVICE]
        cls.cdn = templates()["cdn"]

    def test_routes_and_throttling(self):
        routes = sorted(r["Properties"]["RouteKey"] for r in resources(self.template, "AWS::ApiGatewayV2::Route"))
        self.assertEqual(routes, ["$connect", "$default", "$disconnect", "generate"])
        (stage,) = resources(self.template, "AWS::ApiGatewayV2::Stage")
        self.assertIn("ThrottlingRateLimit", stage["Properties"]["DefaultRouteSettings"])
        self.assertIn("DestinationArn", stage["Properties"]["AccessLogSettings"])

    def test_routes_answer_at_once_and_generations_start_asynchronously_never_retried(self):
        template = self.template
        names = {id(r): name for name, r in template["Resources"].items()}
        worker = transform.PROJECT["services"][SERVICE]["worker"]
        routes, generations = function(template, SERVICE), function(template, worker["function"])
        routes_id, generations_id = names[id(routes)], names[id(generations)]
        # Every route is a synchronous call of the routes' function: no invocation-type header,
        # which AWS documents for REST non-proxy integrations only.
        for integration in resources(template, "AWS::ApiGatewayV2::Integration"):
            self.assertNotIn("RequestParameters", integration["Properties"])
            self.assertIn("${" + routes_id + ".Arn}", integration["Properties"]["IntegrationUri"]["Fn::Sub"])
        # API Gateway stops waiting for a route's answer at 29 s.
        self.assertLessEqual(int(deployed(routes["Properties"]["Timeout"], SERVICE, template)), 29)
        # Retries and queue age as the service declares them (test_templates.py); the record of
        # a failure goes to the routes' function, which tells the client.
        routes_arn = {"Fn::GetAtt": [routes_id, "Arn"]}
        (config,) = resources(template, "AWS::Lambda::EventInvokeConfig")
        self.assertEqual(config["Properties"]["FunctionName"], {"Ref": generations_id})
        self.assertEqual(config["Properties"]["DestinationConfig"], {"OnFailure": {"Destination": routes_arn}})
        # lambda:InvokeFunction: the routes' function on the generation function alone, and the
        # generation function (sending its failure records) on the routes' function alone.
        invokes = {}
        for role_id in (routes["Properties"]["Role"]["Fn::GetAtt"][0], generations["Properties"]["Role"]["Fn::GetAtt"][0]):
            role = template["Resources"][role_id]
            found = [
                s
                for policy in role["Properties"]["Policies"]
                for s in policy["PolicyDocument"]["Statement"]
                if "lambda:" in json.dumps(s.get("Action"))
            ]
            invokes[role_id] = found
        generator = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Project}-${Stage}-${WorkerFunction}"
        self.assertEqual(
            list(invokes.values()),
            [
                [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Fn::Sub": generator}}],
                [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": routes_arn}],
            ],
        )

    def test_a_ledger_table_the_generation_function_may_only_put_to(self):
        template = self.template
        worker = transform.PROJECT["services"][SERVICE]["worker"]
        generations = function(template, worker["function"])
        tables = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
        self.assertEqual(len(tables), 1)
        ((ledger_id, ledger),) = tables.items()
        # On-demand, records expire, deleted with the stack (the data is a day's ids).
        self.assertEqual(ledger["Properties"]["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(ledger["Properties"]["KeySchema"], [{"AttributeName": "generationId", "KeyType": "HASH"}])
        self.assertEqual(ledger["Properties"]["TimeToLiveSpecification"], {"AttributeName": "expiresAt", "Enabled": True})
        self.assertEqual([ledger.get("DeletionPolicy"), ledger.get("UpdateReplacePolicy")], ["Delete", "Delete"])
        self.assertEqual(generations["Properties"]["Environment"]["Variables"][worker["ledger-env"]], {"Ref": ledger_id})
        # Only the generation function's role reaches the table, with PutItem on it alone.
        grants = {
            role_id: [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"] if "dynamodb:" in json.dumps(s.get("Action"))]
            for role_id, role in template["Resources"].items()
            if role["Type"] == "AWS::IAM::Role"
        }
        generations_role = generations["Properties"]["Role"]["Fn::GetAtt"][0]
        self.assertEqual({r: g for r, g in grants.items() if g}, {generations_role: [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": {"Fn::GetAtt": [ledger_id, "Arn"]}}]})

    def test_api_errors_alarm(self):
        self.assertEqual(gateway_alarm(self.template), "ExecutionError")

    def test_only_requests_through_the_cdn_are_answered(self):
        self.assertTrue(requires_origin_secret(SERVICE))

    def test_the_cdn_forwards_the_handshake_to_the_stage_root(self):
        config = distribution(self.cdn)
        (origin,) = [o for o in config["Origins"] if o["Id"] in origins_of(SERVICE)]
        self.assertEqual(origin["DomainName"], {"Ref": "WebSocketDomain"})
        behaviors = [b for b in config["CacheBehaviors"] if b["TargetOriginId"] == origin["Id"]]
        self.assertEqual(sorted(b["PathPattern"] for b in behaviors), ["/ws", "/ws/*"])
        for behavior in behaviors:
            policy = self.cdn["Resources"][behavior["OriginRequestPolicyId"]["Ref"]]
            headers = policy["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]
            self.assertEqual(headers["HeaderBehavior"], "whitelist")
            self.assertLessEqual({"Sec-WebSocket-Key", "Sec-WebSocket-Version", "Origin"}, set(headers["Headers"]))
        # An API Gateway WebSocket API connects on its stage root only.
        self.assertIn("/ws:/test:exact", transform.stack_parameters("cdn")["Routes"].split(","))


if __name__ == "__main__":
    unittest.main()
