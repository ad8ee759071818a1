"""Assertions on this project's templates as CloudFormation sees them (tests/transform.py),
with the parameters `make deploy` passes. The same tests run in every generated combination,
so "present exactly when the strategy is" is checked against the service folders present."""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transform  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
SERVICES = {"websocket": "realtime-ws", "sse": "stream-sse", "rest": "sync-api"}


def has(service):
    return (ROOT / "services" / service / "Cargo.toml").is_file()


def resources(template, kind):
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def resolve(value, conditions):
    """Fn::If and AWS::NoValue resolved for the given condition values."""
    if isinstance(value, dict):
        if "Fn::If" in value:
            name, then, otherwise = value["Fn::If"]
            return resolve(then if conditions[name] else otherwise, conditions)
        items = {k: resolve(v, conditions) for k, v in value.items()}
        return {k: v for k, v in items.items() if v != {"Ref": "AWS::NoValue"}}
    if isinstance(value, list):
        items = [resolve(v, conditions) for v in value]
        return [v for v in items if v != {"Ref": "AWS::NoValue"}]
    return value


def conditions(stack, template):
    """The template's conditions for the parameters `make deploy` passes (each one is
    !Not [!Equals [!Ref Parameter, value]])."""
    params = transform.stack_parameters(stack)
    values = {}
    for name, condition in template.get("Conditions", {}).items():
        ref, value = condition["Fn::Not"][0]["Fn::Equals"]
        values[name] = params[ref["Ref"]] != str(value)
    return values


def function(template, name):
    """The function named `${Project}-${Stage}-<name>`."""
    (found,) = [
        f
        for f in resources(template, "AWS::Lambda::Function")
        if f["Properties"]["FunctionName"] == {"Fn::Sub": "${Project}-${Stage}-%s" % name}
    ]
    return found


def statements(stack, template):
    """The statements of the roles' inline policies, as deployed with those parameters."""
    for role in resources(template, "AWS::IAM::Role"):
        for policy in resolve(role["Properties"].get("Policies", []), conditions(stack, template)):
            yield from policy["PolicyDocument"]["Statement"]


class Templates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.templates = {stack: transform.cloudformation(stack) for stack in transform.stacks()}

    def test_each_strategy_template_exists_exactly_when_its_service_does(self):
        for service in SERVICES.values():
            self.assertEqual(service in self.templates, has(service), service)

    def test_no_bedrock_execute_api_or_ssm_action_on_resource_star(self):
        checked = 0
        for stack, template in self.templates.items():
            for statement in statements(stack, template):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if not any(a.split(":")[0] in ("bedrock", "execute-api", "ssm") for a in actions):
                    continue
                checked += 1
                resource = statement["Resource"]
                self.assertNotIn("*", resource if isinstance(resource, list) else [resource], f"{stack}: {statement}")
        self.assertGreaterEqual(checked, 2 * sum(map(has, SERVICES.values())))

    def test_bedrock_is_granted_on_the_model_and_its_foundation_model_through_the_profile_only(self):
        answers = transform.parameters.answers()
        model_id, region = answers["model_id"], answers["region"]
        p = transform.parameters.partition(region)
        prefix, _, base = model_id.partition(".")
        profile = not model_id.startswith("arn:") and prefix in transform.parameters.PROFILE_PREFIXES
        if model_id.startswith("arn:"):
            expected = {"ModelArn": model_id, "FoundationModelArn": "none"}
        elif profile:
            # Any region, so a destination region AWS adds is covered.
            expected = {
                "ModelArn": f"arn:{p}:bedrock:{region}:{transform.ACCOUNT}:inference-profile/{model_id}",
                "FoundationModelArn": f"arn:{p}:bedrock:*::foundation-model/{base}",
            }
        else:
            expected = {"ModelArn": f"arn:{p}:bedrock:{region}::foundation-model/{model_id}", "FoundationModelArn": "none"}
        invoke = {"Effect": "Allow", "Action": "bedrock:InvokeModelWithResponseStream"}
        profile = {"Ref": "ModelArn"}
        through_profile = {"StringEquals": {"bedrock:InferenceProfileArn": profile}}
        for service in filter(has, SERVICES.values()):
            params = transform.stack_parameters(service)
            self.assertEqual({k: params[k] for k in expected}, expected, service)
            bedrock = [s for s in statements(service, self.templates[service]) if "bedrock:" in json.dumps(s["Action"])]
            # The model (or profile) itself; for a profile, its foundation model only when
            # the request comes through that profile.
            self.assertEqual(
                bedrock,
                [{**invoke, "Resource": {"Ref": "ModelArn"}}]
                + ([{**invoke, "Resource": {"Ref": "FoundationModelArn"}, "Condition": through_profile}] if profile else []),
                service,
            )
            for statement in bedrock:
                if profile and "foundation-model/" in params[statement["Resource"]["Ref"]]:
                    self.assertEqual(statement.get("Condition"), through_profile, f"{service}: {statement}")

    def test_functions_are_capped_logged_and_on_al2023(self):
        capped = {"Fn::If": ["Reserved", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
        for service in filter(has, SERVICES.values()):
            functions = resources(self.templates[service], "AWS::Lambda::Function")
            # The WebSocket strategy runs as two functions (connections and generations).
            self.assertEqual(len(functions), 2 if service == "realtime-ws" else 1, service)
            for fn in functions:
                props = fn["Properties"]
                self.assertEqual(props["Runtime"], "provided.al2023")
                # The WebSocket routes' function calls no model; the cap it would share with
                # the generations would let ten answers throttle every new connection.
                routes_only = fn is function(self.templates[service], service) and service == "realtime-ws"
                self.assertEqual(props.get("ReservedConcurrentExecutions"), None if routes_only else capped, service)
                self.assertEqual(props["LoggingConfig"]["LogFormat"], "JSON")
            self.assertEqual(transform.stack_parameters(service)["ReservedConcurrency"], "10")
            for group in resources(self.templates[service], "AWS::Logs::LogGroup"):
                self.assertEqual(group["Properties"]["RetentionInDays"], 14)

    @unittest.skipUnless(has("stream-sse"), "no SSE strategy")
    def test_sse_function_url_is_aws_iam_and_response_stream(self):
        (url,) = resources(self.templates["stream-sse"], "AWS::Lambda::Url")
        self.assertEqual(url["Properties"]["AuthType"], "AWS_IAM")
        self.assertEqual(url["Properties"]["InvokeMode"], "RESPONSE_STREAM")

    @unittest.skipUnless(has("realtime-ws"), "no WebSocket strategy")
    def test_websocket_routes_and_throttling(self):
        template = self.templates["realtime-ws"]
        routes = sorted(r["Properties"]["RouteKey"] for r in resources(template, "AWS::ApiGatewayV2::Route"))
        self.assertEqual(routes, ["$connect", "$default", "$disconnect", "generate"])
        (stage,) = resources(template, "AWS::ApiGatewayV2::Stage")
        self.assertIn("ThrottlingRateLimit", stage["Properties"]["DefaultRouteSettings"])
        self.assertIn("DestinationArn", stage["Properties"]["AccessLogSettings"])

    @unittest.skipUnless(has("realtime-ws"), "no WebSocket strategy")
    def test_websocket_routes_answer_at_once_and_generations_start_asynchronously_never_retried(self):
        template = self.templates["realtime-ws"]
        names = {id(r): name for name, r in template["Resources"].items()}
        routes, generations = function(template, "realtime-ws"), function(template, "realtime-ws-generate")
        routes_id, generations_id = names[id(routes)], names[id(generations)]
        # Every route is a synchronous call of the routes' function: no invocation-type header,
        # which AWS documents for REST non-proxy integrations only.
        for integration in resources(template, "AWS::ApiGatewayV2::Integration"):
            self.assertNotIn("RequestParameters", integration["Properties"])
            self.assertIn("${" + routes_id + ".Arn}", integration["Properties"]["IntegrationUri"]["Fn::Sub"])
        self.assertLessEqual(routes["Properties"]["Timeout"], 29)
        self.assertEqual(generations["Properties"]["Timeout"], 300)
        self.assertEqual(routes["Properties"]["Environment"]["Variables"]["GENERATE_FUNCTION"], generations["Properties"]["FunctionName"])
        # 0 retries (a retry would post the answer again from seq 0), a short queue, and the
        # record of a failure to the routes' function, which tells the client.
        routes_arn = {"Fn::GetAtt": [routes_id, "Arn"]}
        (config,) = resources(template, "AWS::Lambda::EventInvokeConfig")
        self.assertEqual(
            config["Properties"],
            {
                "FunctionName": {"Ref": generations_id},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 0,
                "MaximumEventAgeInSeconds": 60,
                "DestinationConfig": {"OnFailure": {"Destination": routes_arn}},
            },
        )
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
        generator = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Project}-${Stage}-realtime-ws-generate"
        self.assertEqual(
            list(invokes.values()),
            [
                [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Fn::Sub": generator}}],
                [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": routes_arn}],
            ],
        )
        self.assertEqual(generations["Properties"]["FunctionName"], {"Fn::Sub": "${Project}-${Stage}-realtime-ws-generate"})

    @unittest.skipUnless(has("sync-api"), "no REST strategy")
    def test_rest_is_validated_throttled_logged_and_answers_protocol_errors(self):
        template = self.templates["sync-api"]
        (stage,) = resources(template, "AWS::ApiGateway::Stage")
        self.assertIn("ThrottlingRateLimit", stage["Properties"]["MethodSettings"][0])
        self.assertIn("DestinationArn", stage["Properties"]["AccessLogSetting"])
        self.assertTrue(resources(template, "AWS::ApiGateway::RequestValidator") or "x-amazon-apigateway-request-validators" in json.dumps(template))
        responses = json.dumps(template)
        self.assertIn('\\"code\\":\\"THROTTLED\\"', responses)

    def test_bucket_is_private_and_tls_only(self):
        cdn = self.templates["cdn"]
        (bucket,) = resources(cdn, "AWS::S3::Bucket")
        self.assertTrue(all(bucket["Properties"]["PublicAccessBlockConfiguration"].values()))
        (policy,) = resources(cdn, "AWS::S3::BucketPolicy")
        self.assertIn({"Bool": {"aws:SecureTransport": "false"}}, [s.get("Condition") for s in policy["Properties"]["PolicyDocument"]["Statement"]])

    def test_cdn_serves_the_path_of_each_strategy_present_only(self):
        params = transform.stack_parameters("cdn")
        conditions = {
            "HasWebSocket": params["WebSocketDomain"] != "none",
            "HasSse": params["SseUrl"] != "none",
            "HasRest": params["RestDomain"] != "none",
            "HasWaf": params["WebAclArn"] != "none",
        }
        (distribution,) = resources(self.templates["cdn"], "AWS::CloudFront::Distribution")
        config = resolve(distribution["Properties"]["DistributionConfig"], conditions)
        patterns = sorted(b["PathPattern"] for b in config["CacheBehaviors"])
        expected = sorted(
            (["/api/*"] if has("sync-api") else [])
            + (["/sse", "/sse/*"] if has("stream-sse") else [])
            + (["/ws", "/ws/*"] if has("realtime-ws") else [])
        )
        self.assertEqual(patterns, expected)
        # The router's rule of each strategy present that declares one, the stage filled in.
        ruled = [s for s in SERVICES.values() if has(s) and "genai-scaffold.cdn]" in (ROOT / "services" / s / "Cargo.toml").read_text()]
        routes = [r.split(":") for r in params["Routes"].split(",") if r != "none"]
        self.assertEqual(len(routes), len(ruled), params["Routes"])
        for prefix, origin_path, exact in routes:
            self.assertTrue(prefix.startswith("/") and origin_path.startswith("/"), routes)
            self.assertNotIn("{", origin_path)
            self.assertIn(exact, ("exact", ""))
        self.assertEqual(config["DefaultRootObject"], "index.html")
        for behavior in config["CacheBehaviors"]:
            if behavior["PathPattern"].startswith("/sse"):
                self.assertFalse(behavior["Compress"])
                self.assertNotIn("FunctionAssociations", behavior)
            else:
                self.assertIn("FunctionAssociations", behavior)
        # /config.json and the app come from the bucket; each strategy's origin is the
        # endpoint its stack published (parameters.py reads it from SSM).
        origins = {o["Id"]: o for o in config["Origins"]}
        self.assertIn("S3OriginConfig", origins[config["DefaultCacheBehavior"]["TargetOriginId"]])
        self.assertEqual(sorted(origins), sorted(["web", *(n for n, s in SERVICES.items() if has(s))]))
        if has("realtime-ws"):
            self.assertEqual(origins["websocket"]["DomainName"], {"Ref": "WebSocketDomain"})
        if has("sync-api"):
            self.assertEqual(origins["rest"]["DomainName"], {"Ref": "RestDomain"})
        if has("stream-sse"):
            self.assertIn("OriginAccessControlId", origins["sse"])

    @unittest.skipUnless(has("stream-sse"), "no SSE strategy")
    def test_cloudfront_may_invoke_the_function_url_only_from_this_distribution(self):
        permissions = resources(self.templates["cdn"], "AWS::Lambda::Permission")
        self.assertEqual(sorted(p["Properties"]["Action"] for p in permissions), ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"])
        for permission in permissions:
            self.assertEqual(permission["Properties"]["Principal"], "cloudfront.amazonaws.com")
            self.assertIn("distribution/${Distribution}", permission["Properties"]["SourceArn"]["Fn::Sub"])

    def test_alarms_mail_alert_email_from_one_topic_and_the_budget_needs_it(self):
        config = self.templates["config"]
        (topic,) = resources(config, "AWS::SNS::Topic")
        self.assertEqual(topic["Properties"]["TopicName"], {"Fn::Sub": "${Project}-${Stage}-alerts"})
        (mail,) = resources(config, "AWS::SNS::Subscription")
        self.assertEqual((mail["Condition"], mail["Properties"]["Protocol"]), ("HasAlertEmail", "email"))
        (budget,) = resources(config, "AWS::Budgets::Budget")
        self.assertEqual(budget["Condition"], "HasBudget")
        self.assertEqual(budget["Properties"]["Budget"]["BudgetLimit"], {"Amount": {"Ref": "BudgetUsd"}, "Unit": "USD"})
        thresholds = [(n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in budget["Properties"]["NotificationsWithSubscribers"]]
        self.assertEqual(thresholds, [("ACTUAL", 80), ("FORECASTED", 100)])
        alerts = transform.parameters.alerts
        self.assertEqual(alerts({}), ("none", "0"))
        self.assertEqual(alerts({"ALERT_EMAIL": "ops@example.com", "BUDGET_USD": "20"}), ("ops@example.com", "20"))
        for env, message in [
            ({"BUDGET_USD": "20"}, "needs ALERT_EMAIL"),
            ({"BUDGET_USD": "lots", "ALERT_EMAIL": "ops@example.com"}, "BUDGET_USD"),
            ({"ALERT_EMAIL": "a@b.c, d@e.f"}, "one email address"),
        ]:
            with self.assertRaisesRegex(ValueError, message, msg=env):
                alerts(env)

    def test_every_function_and_gateway_alarms_to_the_stages_topic(self):
        gateways = {"realtime-ws": "ExecutionError", "stream-sse": "Url5xxCount", "sync-api": "5XXError"}
        for service in transform.services():
            alarms = [a["Properties"] for a in resources(self.templates[service], "AWS::CloudWatch::Alarm")]
            functions = len(resources(self.templates[service], "AWS::Lambda::Function"))
            self.assertEqual(
                sorted(a["MetricName"] for a in alarms),
                sorted(["Errors", "Throttles"] * functions + [gateways[service]]),
                service,
            )
            for alarm in alarms:
                self.assertEqual(alarm["AlarmActions"], [{"Ref": "AlertsTopicArn"}])
                self.assertEqual((alarm["Threshold"], alarm["TreatMissingData"]), (1, "notBreaching"))
            self.assertEqual(transform.stack_parameters(service)["AlertsTopicArn"], "/%s/test/deploy/alerts/topic-arn" % transform.parameters.answers()["name"])

    def test_services_accept_the_cdn_origin_and_the_listed_ones_only(self):
        (allowed,) = [
            r["Properties"]
            for r in resources(self.templates["cdn"], "AWS::SSM::Parameter")
            if r["Properties"]["Name"] == {"Fn::Sub": "/${Project}/${Stage}/config/allowed-origins"}
        ]
        value = lambda extra: resolve(allowed["Value"], {"HasExtraOrigins": extra})  # noqa: E731
        self.assertEqual(value(False), {"Fn::Sub": "https://${Distribution.DomainName}"})
        self.assertEqual(value(True), {"Fn::Sub": "https://${Distribution.DomainName},${ExtraOrigins}"})
        extra = transform.parameters.parameters(
            "cdn", {"STAGE": "test", "ALLOWED_ORIGINS": "http://localhost:5173, https://app.example.com/"}, published={}
        )["ExtraOrigins"]
        self.assertEqual(extra, "http://localhost:5173,https://app.example.com")
        self.assertEqual(transform.stack_parameters("cdn")["ExtraOrigins"], "none")
        for wrong in ["*", "localhost:5173", "https://app.example.com/path", "https://*.example.com"]:
            with self.assertRaisesRegex(ValueError, "ALLOWED_ORIGINS entry", msg=wrong):
                transform.parameters.allowed_origins(wrong)

    def test_only_the_cdn_carries_the_origin_secret_the_websocket_and_rest_functions_require(self):
        name = "/%s/test/deploy/origin/secret" % transform.parameters.answers()["name"]
        checked = {"realtime-ws": "websocket", "sync-api": "rest"}
        for service in transform.services():
            template = self.templates[service]
            variables = function(template, service)["Properties"]["Environment"]["Variables"]
            if service in checked:
                # Read from SSM when the stack deploys: the value is in no template.
                self.assertEqual(variables["ORIGIN_SECRET"], {"Ref": "OriginSecret"}, service)
                self.assertEqual(template["Parameters"]["OriginSecret"]["Type"], "AWS::SSM::Parameter::Value<String>")
                self.assertEqual(transform.stack_parameters(service)["OriginSecret"], name)
            else:
                # The Function URL takes only what CloudFront signed (AWS_IAM), and its template
                # declares no such parameter, so none is passed.
                self.assertNotIn("ORIGIN_SECRET", variables, service)
                self.assertNotIn("OriginSecret", transform.stack_parameters(service))
        params = transform.stack_parameters("cdn")
        self.assertEqual(params["OriginSecret"], name)
        conditions = {"HasWebSocket": True, "HasSse": True, "HasRest": True, "HasWaf": False}
        (distribution,) = resources(self.templates["cdn"], "AWS::CloudFront::Distribution")
        origins = {o["Id"]: o for o in resolve(distribution["Properties"]["DistributionConfig"], conditions)["Origins"]}
        current = {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "OriginSecret"}]}]}
        for origin_id, origin in origins.items():
            headers = origin.get("OriginCustomHeaders", [])
            if origin_id in checked.values():
                self.assertEqual(headers, [{"HeaderName": "x-origin-verify", "HeaderValue": current}], origin_id)
            else:
                self.assertEqual(headers, [], origin_id)

    def test_a_strategy_the_stage_has_but_the_project_no_longer_declares_leaves_the_cdn(self):
        # As after `genai-scaffold remove`: its stack still published its endpoint.
        published = {
            "websocket/path": "/ws",
            "websocket/domain": "abc.execute-api.us-east-1.amazonaws.com",
            "sse/path": "/sse",
            "sse/url": "https://abc.lambda-url.us-east-1.on.aws/",
            "sse/function-arn": "arn:aws:lambda:us-east-1:123456789012:function:app-test-stream-sse",
            "rest/path": "/api/generate",
            "rest/domain": "def.execute-api.us-east-1.amazonaws.com",
        }
        params = transform.parameters.parameters("cdn", {"STAGE": "test"}, published=published)
        endpoints = {"realtime-ws": ["WebSocketDomain"], "stream-sse": ["SseUrl", "SseFunctionArn"], "sync-api": ["RestDomain"]}
        for service, names in endpoints.items():
            for name in names:
                self.assertEqual(params[name] != "none", has(service), (service, name, params[name]))

    def test_cloudfront_uses_the_web_acl_waf_py_published_and_none_without(self):
        arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/app-test-cdn/0f1e2d3c"
        (distribution,) = resources(self.templates["cdn"], "AWS::CloudFront::Distribution")
        for published, expected in (({"waf/acl-arn": arn}, arn), ({}, None)):
            params = transform.parameters.parameters("cdn", {"STAGE": "test"}, published=published)
            self.assertEqual(params["WebAclArn"], expected or "none")
            conditions = {"HasWebSocket": True, "HasSse": True, "HasRest": True, "HasWaf": params["WebAclArn"] != "none"}
            config = resolve(distribution["Properties"]["DistributionConfig"], conditions)
            self.assertEqual(config.get("WebACLId"), {"Ref": "WebAclArn"} if expected else None)

    @unittest.skipUnless(has("sync-api"), "the project has no REST strategy")
    def test_rest_lets_the_function_answer_cors_preflights(self):
        (api,) = resources(self.templates["sync-api"], "AWS::ApiGateway::RestApi")
        preflight = api["Properties"]["Body"]["paths"]["/generate"]["options"]
        self.assertEqual(preflight["x-amazon-apigateway-integration"]["type"], "aws_proxy")
        self.assertNotIn("security", preflight, "a browser sends preflights without credentials")


if __name__ == "__main__":
    unittest.main()
