"""Assertions on this project's templates as CloudFormation sees them (tests/transform.py),
with the parameters `make deploy` passes. The same tests run in every generated combination:
what a strategy's templates must hold is in its own file (test_<service>.py), and these check
every strategy present against what its service declares (the deploy model, infra/project.py). The
helpers below serve both."""

import contextlib
import fnmatch
import functools
import io
import json
import os
import re
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transform  # noqa: E402

cdn = transform.cdn
parameters = transform.parameters


@functools.cache
def templates():
    """Every stack's template, transformed once per test run."""
    return {stack: transform.cloudformation(stack) for stack in transform.stacks()}


def distribution(template, waf=False):
    """The CDN's DistributionConfig as deployed, with or without a web ACL."""
    (found,) = resources(template, "AWS::CloudFront::Distribution")
    return resolve(found["Properties"]["DistributionConfig"], {"HasWaf": waf})


def origins_of(service):
    """The origin ids of `service`'s fragment (cdn/<service>.yaml)."""
    return [origin["Id"] for origin in cdn.fragments()[service].get("Origins", [])]


def owners():
    """The service of each origin the fragments add, by origin id."""
    return {origin: service for service in cdn.fragments() for origin in origins_of(service)}


def first_behavior(config, path):
    """The behaviour CloudFront picks for `path`: the first whose pattern matches it (`*` any
    characters, `?` one), else the default one."""
    for behavior in config["CacheBehaviors"]:
        if fnmatch.fnmatchcase(path, behavior["PathPattern"]):
            return behavior
    return config["DefaultCacheBehavior"]


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


def stack_of(template):
    (stack,) = [s for s, t in templates().items() if t is template]
    return stack


def function(template, name):
    """The function named `<project>-<stage>-<name>` as deployed."""
    stack = stack_of(template)
    full = "%s-%s-%s" % (transform.PROJECT["name"], transform.ENV["STAGE"], name)
    (found,) = [f for f in resources(template, "AWS::Lambda::Function") if deployed(f["Properties"]["FunctionName"], stack, template) == full]
    return found


def statements(stack, template):
    """The statements of the roles' inline policies, as deployed with those parameters."""
    for role in resources(template, "AWS::IAM::Role"):
        for policy in resolve(role["Properties"].get("Policies", []), conditions(stack, template)):
            yield from policy["PolicyDocument"]["Statement"]


def alarms(template):
    return [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm")]


def gateway_alarm(template):
    """The metric of the one alarm on the service's gateway (the others are its functions')."""
    (metric,) = [a["MetricName"] for a in alarms(template) if a["MetricName"] not in ("Errors", "Throttles")]
    return metric


def sample_pseudo():
    """The pseudo parameters of a sample deploy: transform.py's account, and the region the
    templates are transformed for."""
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return {"AWS::Partition": partition, "AWS::Region": region, "AWS::AccountId": transform.ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


def deployed(value, stack, template):
    """A template value as CloudFormation gives it when `stack` deploys with the parameters
    `make deploy` passes (or their defaults) and sample_pseudo(): Ref of a parameter, Fn::Sub
    and Fn::Join resolved; a resource's Ref kept as it is, a Fn::Sub naming one is an error."""
    params = transform.stack_parameters(stack)
    declared = template.get("Parameters", {})

    def parameter(name):
        if name in sample_pseudo():
            return sample_pseudo()[name]
        if name in params:
            return str(params[name])
        if "Default" in declared.get(name, {}):
            return str(declared[name]["Default"])
        raise ValueError(f"{stack}: cannot resolve {name}")

    def walk(v):
        if isinstance(v, list):
            return [walk(x) for x in v]
        if not isinstance(v, dict):
            return v
        if set(v) == {"Ref"} and (v["Ref"] in declared or v["Ref"] in sample_pseudo()):
            return parameter(v["Ref"])
        if set(v) == {"Fn::Sub"} and isinstance(v["Fn::Sub"], str):
            return re.sub(r"\$\{([^}!]+)\}", lambda m: parameter(m.group(1)), v["Fn::Sub"])
        if set(v) == {"Fn::Join"}:
            separator, parts = v["Fn::Join"]
            parts = walk(parts)
            if all(isinstance(p, str) for p in parts):
                return separator.join(parts)
        return {k: walk(x) for k, x in v.items()}

    return walk(value)


def _glob(pattern, value, ignore_case=False):
    """`*` any characters, `?` one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _arn_like(pattern, arn):
    """ArnLike and ArnEquals: each of the six colon-separated parts matched on its own."""
    split = lambda s: s.split(":", 5)  # noqa: E731
    p, a = split(pattern), split(arn)
    return len(p) == len(a) == 6 and all(_glob(x, y) for x, y in zip(p, a))


CONDITION_OPERATORS = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": _glob,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
}


def condition_keys(statement):
    """The condition keys a statement tests, lowercase."""
    return {key.lower() for keys in statement.get("Condition", {}).values() for key in keys}


def applies(statement, service, action, resource, context):
    """Whether a resource-policy statement applies to a request of `service` (a service
    principal) doing `action` on `resource` (the template value the policy names it by), with
    the condition keys of `context`: its principal, action, resource and every condition match.
    A statement this cannot evaluate (NotPrincipal, an unknown operator, an unresolved value)
    raises, so a test never passes on a guess."""
    for unsupported in ("NotPrincipal", "NotAction", "NotResource"):
        if unsupported in statement:
            raise ValueError(f"cannot evaluate {unsupported}: {statement}")
    listed = lambda v: v if isinstance(v, list) else [] if v is None else [v]  # noqa: E731
    principal = statement.get("Principal")
    anyone = principal == "*" or (isinstance(principal, dict) and "*" in listed(principal.get("AWS")))
    if not anyone and not (isinstance(principal, dict) and service in listed(principal.get("Service"))):
        return False
    if not any(_glob(a, action, ignore_case=True) for a in listed(statement["Action"])):
        return False
    if not any(r == "*" or r == resource for r in listed(statement["Resource"])):
        return False
    context = {k.lower(): v for k, v in context.items()}
    for operator, keys in statement.get("Condition", {}).items():
        if operator not in CONDITION_OPERATORS:
            raise ValueError(f"cannot evaluate condition operator {operator}: {statement}")
        for key, expected in keys.items():
            values = listed(expected)
            if not all(isinstance(v, str) for v in values):
                raise ValueError(f"unresolved value of {key}: {expected}")
            actual = context.get(key.lower())
            if actual is None or not any(CONDITION_OPERATORS[operator](v, actual) for v in values):
                return False
    return True


def alarm_actions(templates):
    """Every alarm of every stack, each of its actions followed to the topic it notifies: the
    action is the ARN the stack reads from an SSM parameter when it deploys, that parameter is
    one another stack publishes with a topic's ARN, and the topic's policy is that stack's
    TopicPolicy resources naming it. Yields (stack, alarm name, parameter name, topic stack,
    topic, policy statements resolved); an action it cannot follow raises."""
    publishers = {}
    for stack, template in templates.items():
        for resource in resources(template, "AWS::SSM::Parameter"):
            name = deployed(resource["Properties"]["Name"], stack, template)
            publishers[name] = (stack, resource["Properties"]["Value"])
    for stack, template in templates.items():
        declared = template.get("Parameters", {})
        for alarm in alarms(template):
            name = deployed(alarm.get("AlarmName"), stack, template)
            if not isinstance(name, str):
                raise AssertionError(f"{stack}: an alarm has no name CloudFormation knows before it deploys: {alarm}")
            for action in alarm.get("AlarmActions", []):
                ref = action.get("Ref") if isinstance(action, dict) else None
                if declared.get(ref, {}).get("Type") != "AWS::SSM::Parameter::Value<String>":
                    raise AssertionError(f"{stack}: action {action} of alarm {name} is not read from an SSM parameter")
                parameter = deployed(action, stack, template)
                if parameter not in publishers:
                    raise AssertionError(f"{stack}: no stack publishes {parameter}, the topic of alarm {name}")
                topic_stack, topic = publishers[parameter]
                topic_template = templates[topic_stack]
                if topic_template["Resources"].get(topic.get("Ref") if isinstance(topic, dict) else None, {}).get("Type") != "AWS::SNS::Topic":
                    raise AssertionError(f"{topic_stack}: {parameter} holds {topic}, not a topic of the stack")
                statements = [
                    deployed(statement, topic_stack, topic_template)
                    for policy in resources(topic_template, "AWS::SNS::TopicPolicy")
                    if topic in policy["Properties"]["Topics"]
                    for statement in policy["Properties"]["PolicyDocument"]["Statement"]
                ]
                yield stack, name, parameter, topic_stack, topic, statements


def requires_origin_secret(service):
    """Whether `service`'s functions refuse a request without the CDN's origin secret."""
    return "OriginSecret" in templates()[service].get("Parameters", {})


class Templates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.templates = templates()
        cls.declared = transform.PROJECT["services"]

    def test_each_strategy_template_exists_exactly_when_its_service_does(self):
        self.assertEqual(transform.services(), sorted(self.declared))
        self.assertEqual(sorted(self.templates), sorted(["config", "cdn", *self.declared]))

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
        self.assertGreaterEqual(checked, 2 * len(self.declared))

    def test_bedrock_is_granted_on_the_model_and_its_foundation_model_through_the_profile_only(self):
        project = transform.PROJECT
        model_id, region, p = project["model"]["id"], project["region"], project["partition"]
        prefix, _, base = model_id.partition(".")
        profile = not model_id.startswith("arn:") and prefix in parameters.deploy_model.PROFILE_PREFIXES
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
        for service in transform.services():
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
        for service, declared in self.declared.items():
            template = self.templates[service]
            functions = resources(template, "AWS::Lambda::Function")
            # A service that declares a worker runs as two functions: its own and the worker.
            self.assertEqual(len(functions), 2 if "worker" in declared else 1, service)
            for fn in functions:
                props = fn["Properties"]
                self.assertEqual(props["Runtime"], "provided.al2023")
                # Beside a worker, the service's own function calls no model (the worker
                # does); the cap it would share with the worker would let ten answers
                # throttle every new request.
                routes_only = "worker" in declared and fn is function(template, service)
                self.assertEqual(props.get("ReservedConcurrentExecutions"), None if routes_only else capped, service)
                self.assertEqual(props["LoggingConfig"]["LogFormat"], "JSON")
            self.assertEqual(transform.stack_parameters(service)["ReservedConcurrency"], 10)
            for group in resources(template, "AWS::Logs::LogGroup"):
                self.assertEqual(group["Properties"]["RetentionInDays"], 14)

    def test_each_function_route_and_worker_is_deployed_as_its_service_declares(self):
        # The template reads every one of these from the declaration (through parameters.py):
        # a value written in a template instead, or a parameter left unpassed, fails here.
        name = transform.PROJECT["name"]
        checked = 0
        for service, declared in self.declared.items():
            template = self.templates[service]
            value = lambda v: deployed(v, service, template)  # noqa: E731
            own = function(template, service)["Properties"]
            self.assertEqual([int(value(own["Timeout"])), int(value(own["MemorySize"]))], [declared["timeout-seconds"], declared["memory-mb"]], service)
            # What make deploy-frontend turns into /config.json's entry for the strategy.
            path = f"/{name}/test/deploy/{declared['strategy']}/path"
            published = [r["Properties"] for r in resources(template, "AWS::SSM::Parameter") if value(r["Properties"]["Name"]) == path]
            self.assertEqual([value(p["Value"]) for p in published], [declared["route"]], service)
            checked += 1
            worker = declared.get("worker")
            if not worker:
                continue
            runs = function(template, worker["function"])["Properties"]
            self.assertEqual([int(value(runs["Timeout"])), int(value(runs["MemorySize"]))], [worker["timeout-seconds"], worker["memory-mb"]], service)
            # The service's function names its worker in the variable the service reads.
            self.assertEqual(value(own["Environment"]["Variables"].get(worker["env"])), f"{name}-test-{worker['function']}", service)
            # The worker names its ledger table in the variable the service reads.
            tables = {table_id for table_id, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
            ledger = runs["Environment"]["Variables"].get(worker["ledger-env"], {}).get("Ref")
            self.assertIn(ledger, tables, service)
            (config,) = [c["Properties"] for c in resources(template, "AWS::Lambda::EventInvokeConfig")]
            self.assertEqual(
                [int(value(config["MaximumRetryAttempts"])), int(value(config["MaximumEventAgeInSeconds"]))],
                [worker["retries"], worker["max-event-age-seconds"]],
                service,
            )
        self.assertEqual(checked, len(self.declared))
        self.assertGreater(checked, 0)

    def test_each_rest_api_answers_its_route_where_the_cdn_sends_it(self):
        # SAM resolves no intrinsic function in an Api event's Path (serverless-application-model
        # #687, #2157), so the REST templates write their resource path; it must be the route as
        # the CDN's rule rewrites it (the declaration's `cdn`: the stage as origin path, then the
        # route without `prefix`, or nothing for an exact rule; infra/project.py's api_path), or
        # every request through the CDN answers 403 Missing Authentication Token.
        checked = 0
        for service, declared in self.declared.items():
            if not parameters.deploy_model.behind_rest_api(declared):
                continue
            rule = declared["cdn"]
            # An exact rule owns its route alone; any other, the paths below its prefix.
            if rule["exact"]:
                self.assertEqual(declared["route"], rule["prefix"], service)
            else:
                self.assertTrue(declared["route"].startswith(rule["prefix"] + "/"), service)
            resource = parameters.deploy_model.api_path(declared)
            (api,) = resources(self.templates[service], "AWS::ApiGateway::RestApi")
            paths = api["Properties"]["Body"]["paths"]
            self.assertIn("post", paths.get(resource, {}), f"{service}: the API has {sorted(paths)}, the CDN sends {declared['route']} to {resource}")
            checked += 1
        if not any(map(parameters.deploy_model.behind_rest_api, self.declared.values())):
            self.skipTest("no service of this project has a REST API")
        self.assertGreater(checked, 0)

    def test_bucket_is_private_and_tls_only(self):
        template = self.templates["cdn"]
        (bucket,) = resources(template, "AWS::S3::Bucket")
        self.assertTrue(all(bucket["Properties"]["PublicAccessBlockConfiguration"].values()))
        (policy,) = resources(template, "AWS::S3::BucketPolicy")
        self.assertIn({"Bool": {"aws:SecureTransport": "false"}}, [s.get("Condition") for s in policy["Properties"]["PolicyDocument"]["Statement"]])

    def test_every_strategy_has_its_part_of_the_cdn(self):
        # A strategy without a fragment would be on no path of the app's origin.
        self.assertEqual(sorted(cdn.fragments()), sorted(self.declared))

    def test_cdn_serves_the_path_of_each_strategy_present_only(self):
        params = transform.stack_parameters("cdn")
        config = distribution(self.templates["cdn"])
        # /config.json and the app come from the bucket; each strategy's origin is the
        # endpoint its stack published (parameters.py reads it from SSM).
        origins = {o["Id"]: o for o in config["Origins"]}
        self.assertEqual(len(origins), len(config["Origins"]), "origin ids are unique")
        self.assertIn("S3OriginConfig", origins[config["DefaultCacheBehavior"]["TargetOriginId"]])
        owner = owners()
        self.assertEqual(sorted(origins), sorted(["web", *owner]))
        self.assertEqual(sorted(set(owner.values())), sorted(self.declared))
        for service, declared in self.declared.items():
            # CloudFront sends the path its service declares, and the paths below it, to the
            # service's own origin, whatever the order of the behaviours.
            route = declared["route"]
            for path in (route, f"{route}/", f"{route}/x"):
                self.assertEqual(owner.get(first_behavior(config, path)["TargetOriginId"]), service, path)
        for behavior in config["CacheBehaviors"]:
            # No behaviour takes paths beyond its strategy's (a `/*` would take the app's).
            route = self.declared[owner[behavior["TargetOriginId"]]]["route"]
            pattern = behavior["PathPattern"]
            self.assertTrue(pattern == route or (pattern.endswith("/*") and f"{route}/".startswith(pattern[:-1]) and pattern != "/*"), pattern)
        self.assertEqual(config["DefaultRootObject"], "index.html")
        # The router's rule of each strategy present that declares one, the stage filled in.
        ruled = [s for s, d in self.declared.items() if "cdn" in d]
        routes = [r.split(":") for r in params["Routes"].split(",") if r != "none"]
        self.assertEqual(len(routes), len(ruled), params["Routes"])
        for prefix, origin_path, exact in routes:
            self.assertTrue(prefix.startswith("/") and origin_path.startswith("/"), routes)
            self.assertNotIn("{", origin_path)
            self.assertIn(exact, ("exact", ""))
        # Only a strategy with a rule needs the router on its paths; the app's always does
        # (/ to index.html, 404 on a path that is no file).
        self.assertIn("FunctionAssociations", config["DefaultCacheBehavior"])
        for behavior in config["CacheBehaviors"]:
            ruled_here = owner[behavior["TargetOriginId"]] in ruled
            self.assertEqual("FunctionAssociations" in behavior, ruled_here, behavior["PathPattern"])

    def test_every_parameter_of_the_cdn_gets_a_value(self):
        declared = self.templates["cdn"]["Parameters"]
        params = transform.stack_parameters("cdn")
        self.assertEqual(sorted(p for p, d in declared.items() if "Default" not in d and p not in params), [])
        # And none it does not declare, which CloudFormation refuses.
        self.assertEqual(sorted(set(params) - set(declared)), [])

    def test_the_cdn_routes_a_strategy_once_the_stage_has_it_and_while_the_project_does(self):
        everything = transform.published()
        full, services, waiting = parameters.cdn_parameters(transform.ENV, everything, transform.REMEMBERED)
        self.assertEqual((sorted(services), waiting), (sorted(self.declared), {}))
        for service in self.declared:
            names = cdn.fragments()[service]["Published"]
            rule = self.declared[service].get("cdn", {}).get("prefix")
            # Not deployed yet: its endpoint is not published, so the CDN waits for it, and
            # the deploy says so.
            unpublished = {k: v for k, v in everything.items() if k not in names.values()}
            params, services, waiting = parameters.cdn_parameters(transform.ENV, unpublished, transform.REMEMBERED)
            self.assertNotIn(service, services)
            self.assertEqual({s: sorted(n) for s, n in waiting.items()}, {service: sorted(names.values())})
            # As after `genai-scaffold remove`: its stack still published its endpoint, but
            # the project no longer declares the strategy.
            removed = {s: d for s, d in self.declared.items() if s != service}
            with mock.patch.object(parameters.deploy_model, "declarations", return_value=removed):
                gone, services, waiting = parameters.cdn_parameters(transform.ENV, everything, transform.REMEMBERED)
            self.assertNotIn(service, services)
            self.assertEqual(waiting, {})
            for left_out in (params, gone):
                for param in names:
                    self.assertNotIn(param, left_out)
                if rule:
                    self.assertNotIn(f"{rule}:", left_out["Routes"])
                # The origin secret only while a strategy routed needs it.
                needed = any(requires_origin_secret(s) for s in services)
                self.assertEqual("OriginSecret" in left_out, needed)

    def test_the_deploy_writes_the_cdn_template_it_prints_parameters_for_and_says_what_waits(self):
        # `python3 parameters.py cdn` as `make deploy STACK=cdn` runs it, SSM a local fake
        # where the stage has every strategy but one's endpoints.
        from moto import mock_aws

        name = transform.PROJECT["name"]
        waiting = sorted(self.declared)[0]
        skipped = set(cdn.fragments()[waiting]["Published"].values())
        env = {"STAGE": "test", "AWS_REGION": "us-east-1"}
        fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, fake), mock_aws():
            import boto3

            os.environ.pop("AWS_ENDPOINT_URL", None)

            ssm = boto3.client("ssm", region_name="us-east-1")
            for key, value in transform.published().items():
                if key not in skipped:
                    ssm.put_parameter(Name=f"/{name}/test/deploy/{key}", Value=value, Type="String")
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                parameters.main(["cdn"], env, template=Path(tmp) / "build" / "cdn.json")
            written = json.loads((Path(tmp) / "build" / "cdn.json").read_text())
        printed = dict(word.split("=", 1) for word in out.getvalue().split())
        # What it printed is what the template it wrote declares: every parameter without a
        # default, none it lacks (CloudFormation refuses both), and nothing of the waiting one.
        self.assertLessEqual(set(printed), set(written["Parameters"]))
        self.assertLessEqual({p for p, d in written["Parameters"].items() if "Default" not in d}, set(printed))
        config = distribution(written)
        self.assertEqual(sorted(o["Id"] for o in config["Origins"]), sorted(["web", *(o for s in self.declared if s != waiting for o in origins_of(s))]))
        self.assertIn(f"the CDN leaves {waiting} out", err.getvalue())
        self.assertIn(f"make deploy-{waiting}", err.getvalue())

    def test_a_fragment_that_clashes_with_what_the_template_has_is_refused(self):
        for service, fragment in cdn.fragments().items():
            # Its origin already there (from cdn.yaml, or another fragment).
            base = cdn.load(cdn.HERE / "cdn.yaml")
            distribution_config = next(r for r in base["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution")
            distribution_config["Properties"]["DistributionConfig"]["Origins"].append(fragment["Origins"][0])
            with self.assertRaisesRegex(ValueError, f"cdn/{service}.yaml: Origins has Id .* twice"):
                cdn.template([service], base)

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
        alerts = lambda env: [parameters.parameters("config", {"STAGE": "test", **env}, remembered={})[k] for k in ("AlertEmail", "BudgetUsd")]  # noqa: E731
        self.assertEqual(alerts({}), ["none", 0])
        self.assertEqual(alerts({"ALERT_EMAIL": "ops@example.com", "BUDGET_USD": "20"}), ["ops@example.com", 20])
        # The rules themselves, and their messages, are the deploy model's (infra/tests/test_project.py).
        with self.assertRaisesRegex(ValueError, "needs ALERT_EMAIL"):
            alerts({"BUDGET_USD": "20"})


    def test_every_function_and_gateway_alarms_to_the_stages_topic(self):
        for service in transform.services():
            template = self.templates[service]
            functions = len(resources(template, "AWS::Lambda::Function"))
            # Errors and throttles of each function, and one alarm on its gateway's failures
            # (which metric: test_<service>.py).
            self.assertEqual(
                sorted(a["MetricName"] for a in alarms(template)),
                sorted(["Errors", "Throttles"] * functions + [gateway_alarm(template)]),
                service,
            )
            for alarm in alarms(template):
                self.assertEqual(alarm["AlarmActions"], [{"Ref": "AlertsTopicArn"}])
                self.assertEqual((alarm["Threshold"], alarm["TreatMissingData"]), (1, "notBreaching"))
            self.assertEqual(transform.stack_parameters(service)["AlertsTopicArn"], "/%s/test/deploy/alerts/topic-arn" % transform.PROJECT["name"])

    def test_cloudwatch_may_publish_every_alarm_to_its_topic_over_tls_only_for_the_stages_alarms_only(self):
        # A topic policy replaces SNS's default one, so CloudWatch may publish an alarm only if
        # the policy allows it; else every alarm action fails ("no resource-based policy allows
        # the SNS:Publish action") and no mail ever comes.
        pseudo = sample_pseudo()
        account = pseudo["AWS::AccountId"]
        arn = lambda name, owner=account: f"arn:{pseudo['AWS::Partition']}:cloudwatch:{pseudo['AWS::Region']}:{owner}:alarm:{name}"  # noqa: E731
        walked = list(alarm_actions(self.templates))
        # Every strategy stack alarms (on its functions and its gateway), so none may be missed.
        for service in transform.services():
            self.assertGreater(len([a for a in walked if a[0] == service]), 0, f"alarm actions of {service}")
        project = transform.stack_parameters("config")
        for stack, name, parameter, topic_stack, topic, statements in walked:
            what = f"{stack}: {name} -> {parameter} ({topic_stack})"

            def decide(**context):
                request = {"aws:SourceArn": arn(name), "aws:SourceAccount": account, "aws:SecureTransport": "true", **context}
                return {
                    # Allowed by a statement scoped to the alarm's source (confused deputy), not
                    # just to CloudWatch.
                    "allowed": any(
                        s["Effect"] == "Allow"
                        and applies(s, "cloudwatch.amazonaws.com", "sns:Publish", topic, request)
                        and {"aws:sourcearn", "aws:sourceaccount"} <= condition_keys(s)
                        for s in statements
                    ),
                    "denied": any(s["Effect"] == "Deny" and applies(s, "cloudwatch.amazonaws.com", "sns:Publish", topic, request) for s in statements),
                }

            self.assertEqual(decide(), {"allowed": True, "denied": False}, what)
            # TLS only: the same request over plain HTTP is refused.
            self.assertTrue(decide(**{"aws:SecureTransport": "false"})["denied"], f"{what}, without TLS")
            # Another stage's alarm, or an alarm of another account, may not publish.
            other = "%s-x%s-errors" % (project["Project"], project["Stage"])
            self.assertFalse(decide(**{"aws:SourceArn": arn(other)})["allowed"], f"{what}, from {other}")
            elsewhere = "210987654321"
            self.assertFalse(decide(**{"aws:SourceArn": arn(name, elsewhere), "aws:SourceAccount": elsewhere})["allowed"], f"{what}, from {elsewhere}")

    def test_the_configuration_starts_with_the_model_and_the_limits_genai_declares(self):
        # The services apply crates/genai's limits when the stage names none; the stage starts
        # with the same ones (infra/project.py reads them from that crate's Cargo.toml).
        template = self.templates["config"]
        settings = {
            deployed(r["Properties"]["Name"], "config", template).rsplit("/", 1)[-1]: deployed(r["Properties"]["Value"], "config", template)
            for r in resources(template, "AWS::SSM::Parameter")
            if "/config/" in json.dumps(r["Properties"]["Name"])
        }
        expected = {"model-id": transform.PROJECT["model"]["id"]} | {k: str(v) for k, v in transform.PROJECT["limits"].items()}
        self.assertEqual(settings, expected)

    def test_services_accept_the_cdn_origin_and_the_listed_ones_only(self):
        (allowed,) = [
            r["Properties"]
            for r in resources(self.templates["cdn"], "AWS::SSM::Parameter")
            if r["Properties"]["Name"] == {"Fn::Sub": "/${Project}/${Stage}/config/allowed-origins"}
        ]
        value = lambda extra: resolve(allowed["Value"], {"HasExtraOrigins": extra})  # noqa: E731
        self.assertEqual(value(False), {"Fn::Sub": "https://${Distribution.DomainName}"})
        self.assertEqual(value(True), {"Fn::Sub": "https://${Distribution.DomainName},${ExtraOrigins}"})
        extra = parameters.parameters(
            "cdn", {"STAGE": "test", "ALLOWED_ORIGINS": "http://localhost:5173, https://app.example.com/"}, published={}, remembered={}
        )["ExtraOrigins"]
        self.assertEqual(extra, "http://localhost:5173,https://app.example.com")
        self.assertEqual(transform.stack_parameters("cdn")["ExtraOrigins"], "none")
        # A stage that remembers its origins keeps them when the deploy names none.
        kept = parameters.parameters("cdn", {"STAGE": "test"}, published={}, remembered={"allowed-origins": "https://app.example.com"})
        self.assertEqual(kept["ExtraOrigins"], "https://app.example.com")

    def test_the_origin_secret_guards_exactly_the_services_that_declare_it(self):
        for service, declared in self.declared.items():
            self.assertEqual(requires_origin_secret(service), declared["origin-secret"], service)

    def test_only_the_cdn_carries_the_origin_secret_the_functions_that_require_it_get(self):
        name = "/%s/test/deploy/origin/secret" % transform.PROJECT["name"]
        # The variable and the header the code reads (crates/genai/Cargo.toml, via the deploy model).
        secret = transform.PROJECT["originSecret"]
        for service in transform.services():
            variables = function(self.templates[service], service)["Properties"]["Environment"]["Variables"]
            if requires_origin_secret(service):
                # Read from SSM when the stack deploys: the value is in no template.
                self.assertEqual(variables.get(secret["env"]), {"Ref": "OriginSecret"}, service)
                self.assertEqual(self.templates[service]["Parameters"]["OriginSecret"]["Type"], "AWS::SSM::Parameter::Value<String>")
                self.assertEqual(transform.stack_parameters(service)["OriginSecret"], name)
            else:
                # A template that declares no such parameter is passed none.
                self.assertNotIn(secret["env"], variables, service)
                self.assertNotIn("OriginSecret", transform.stack_parameters(service))
        current = {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "OriginSecret"}]}]}
        owner = owners()
        # The CDN stack takes the parameter only when an origin it routes needs it.
        needed = any(map(requires_origin_secret, owner.values()))
        self.assertEqual(transform.stack_parameters("cdn").get("OriginSecret"), name if needed else None)
        for origin in distribution(self.templates["cdn"])["Origins"]:
            headers = origin.get("OriginCustomHeaders", [])
            if origin["Id"] in owner and requires_origin_secret(owner[origin["Id"]]):
                self.assertEqual(headers, [{"HeaderName": secret["header"], "HeaderValue": current}], origin["Id"])
            else:
                self.assertEqual(headers, [], origin["Id"])

    def test_a_setting_that_breaks_its_rule_stops_the_deploy_with_the_deploy_models_message(self):
        # The rules and their words are infra/project.py's, as the CDK synth shows them too
        # (stacks.test.ts); `make deploy` stops on the exit code before sam deploy runs.
        from moto import mock_aws

        fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        cases = [
            ({"STAGE": "Prod"}, "error: STAGE 'Prod' must start with a lowercase letter"),
            ({"BUDGET_USD": "0", "ALERT_EMAIL": "ops@example.com"}, "error: BUDGET_USD '0' must be a positive amount"),
            ({"ALLOWED_ORIGINS": "https://*.example.com"}, "error: ALLOWED_ORIGINS entry 'https://*.example.com' is not an origin"),
        ]
        with mock.patch.dict(os.environ, fake), mock_aws():
            os.environ.pop("AWS_ENDPOINT_URL", None)
            for env, message in cases:
                for stack in ("config", "cdn"):
                    err = io.StringIO()
                    with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as stopped:
                        parameters.main([stack], {"AWS_REGION": "us-east-1", **env})
                    self.assertEqual(stopped.exception.code, 2, (stack, env))
                    self.assertIn(message, err.getvalue(), (stack, env))

    def test_cloudfront_uses_the_web_acl_waf_py_published_and_none_without(self):
        arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/app-test-cdn/0f1e2d3c"
        for published, expected in (({"waf/acl-arn": arn}, arn), ({}, None)):
            params = parameters.parameters("cdn", {"STAGE": "test"}, published=published, remembered={})
            self.assertEqual(params["WebAclArn"], expected or "none")
            config = distribution(self.templates["cdn"], waf=params["WebAclArn"] != "none")
            self.assertEqual(config.get("WebACLId"), {"Ref": "WebAclArn"} if expected else None)


if __name__ == "__main__":
    unittest.main()
