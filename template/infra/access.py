#!/usr/bin/env python3
"""Every call between the parts of a deployed stage, checked against the policies it deployed.

  python3 infra/access.py      (make check-access; PROJECT, STAGE and AWS_REGION from the Makefile)

It reads the stage (its stacks <project>-<stage>-config, -cdn and -<service> for each service
of the deploy model, and what they made) with your credentials, writes nothing, and asks
infra/policy.py, as AWS would, whether each call the stage relies on is allowed:

- each CloudWatch alarm → each SNS topic of its actions (sns:Publish by
  cloudwatch.amazonaws.com, on behalf of the alarm): the topic's policy;
- each API Gateway route (WebSocket) or method (REST) → its Lambda integration
  (lambda:InvokeFunction by apigateway.amazonaws.com, on behalf of the route, also for an
  integration that streams): the function's policy;
- CloudFront → each Lambda Function URL origin signed by origin access control
  (lambda:InvokeFunctionUrl and lambda:InvokeFunction by cloudfront.amazonaws.com, on behalf
  of the distribution): the function's policy;
- each function's asynchronous destinations: its role, and the destination's policy;
- each WebSocket route's function and its worker → the API's connections
  (execute-api:ManageConnections): the function's role;
- each function that calls the model → Bedrock (bedrock:InvokeModelWithResponseStream on the
  model its deployed configuration names), each function → its SSM configuration path, and a
  service with a worker → the worker (lambda:InvokeFunction) and the worker → its ledger table
  (dynamodb:PutItem): the function's role;
- what the code expects of its deployment (as_declared): each function with its declared
  timeout and memory and the variables its code reads, each trigger answering the route the
  app's origin sends it to. A renamed variable or a moved path fails on AWS as surely as a
  refused call.

Each allowed call prints one line; a refused one prints what AWS would answer (AccessDenied:
<principal> is not authorized to perform <action> on <resource>) and which statement decided,
and the command exits 1. What it cannot see: service control policies and permissions
boundaries of the account (a stage makes none), and anything not deployed yet.
"""

import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

import project as deploy_model
from policy import Request, Unsupported, decide

# Each call gives up rather than hang.
CLIENT = Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
# What `ConverseStream` needs (crates/genai/src/bedrock.rs calls converse_stream): "Actions,
# resources, and condition keys for Amazon Bedrock"
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html:
# ConverseStream is authorized as bedrock:InvokeModelWithResponseStream).
CONVERSE_STREAM = "bedrock:InvokeModelWithResponseStream"
# The action an asynchronous invocation's destination needs from the function's role, by the
# destination's service: "Capturing records of Lambda asynchronous invocations"
# (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
# An expected variable whose value is a secret: checked to be set, never printed.
SECRET = object()

DESTINATION_ACTIONS = {"lambda": "lambda:InvokeFunction", "sqs": "sqs:SendMessage", "sns": "sns:Publish", "events": "events:PutEvents", "s3": "s3:PutObject"}


class Stage:
    """The deployed stage, read once: clients, the account, its stacks' resources by type."""

    def __init__(self, project, session):
        self.project = project
        self.region = project["region"]
        self.partition = project["partition"]
        client = lambda name, **kw: session.client(name, config=CLIENT, **kw)  # noqa: E731
        self.cloudformation = client("cloudformation")
        self.lambda_ = client("lambda")
        self.iam = client("iam")
        self.sns = client("sns")
        self.ssm = client("ssm")
        self.cloudwatch = client("cloudwatch")
        self.apigateway = client("apigateway")
        self.apigatewayv2 = client("apigatewayv2")
        self.cloudfront = client("cloudfront")
        self.bedrock = client("bedrock")
        self.account = client("sts").get_caller_identity()["Account"]
        self.resources = {}
        # Each stack's resources by type, for what must be in one stack (a service's own API).
        self.by_stack = {}
        self.stacks = []
        prefix = f"{project['name']}-{project['stage']}-"
        for part in ["config", *project["services"], "cdn"]:
            stack = prefix + part
            try:
                pages = self.cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
                found = [r for page in pages for r in page["StackResourceSummaries"]]
            except ClientError as error:
                if "does not exist" not in str(error):
                    raise
                continue
            self.stacks.append(stack)
            for resource in found:
                if resource.get("PhysicalResourceId"):
                    self.resources.setdefault(resource["ResourceType"], []).append(resource["PhysicalResourceId"])
                    self.by_stack.setdefault(stack, {}).setdefault(resource["ResourceType"], []).append(resource["PhysicalResourceId"])
        self._policies = {}

    def of(self, kind, stack=None):
        return (self.resources if stack is None else self.by_stack.get(stack, {})).get(kind, [])

    def function_policy(self, function):
        """A function's resource policy (Lambda GetPolicy), none if it has no statement."""
        try:
            return [(f"the resource policy of {function.split(':')[-1]}", json.loads(self.lambda_.get_policy(FunctionName=function)["Policy"]))]
        except self.lambda_.exceptions.ResourceNotFoundException:
            return []

    def role_policies(self, role_arn):
        """A role's identity policies: inline and attached managed ones, each as (name, document)."""
        if role_arn not in self._policies:
            name = role_arn.rsplit("/", 1)[-1]
            found = []
            for page in self.iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy in page["PolicyNames"]:
                    document = self.iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                    found.append((f"role {name} inline policy {policy}", _document(document)))
            for page in self.iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                for attached in page["AttachedPolicies"]:
                    arn = attached["PolicyArn"]
                    version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                    document = self.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
                    found.append((f"role {name} managed policy {attached['PolicyName']}", _document(document)))
            self._policies[role_arn] = found
        return self._policies[role_arn]

    def functions(self):
        """The stage's functions: name to configuration."""
        return {name: self.lambda_.get_function_configuration(FunctionName=name) for name in self.of("AWS::Lambda::Function")}


def _document(document):
    # IAM's API returns policy documents URL-encoded JSON, which boto3 decodes to a dict; a
    # client that does not (an endpoint answering them otherwise) leaves the string.
    if isinstance(document, str):
        from urllib.parse import unquote

        return json.loads(unquote(document))
    return document


class Report:
    def __init__(self, out=sys.stdout):
        self.out = out
        self.allowed = 0
        self.refused = 0

    def check(self, request, edge, identity=(), resource=()):
        try:
            decision = decide(request, identity, resource)
        except Unsupported as error:
            print(f"CANNOT CHECK {edge}: {error}", file=self.out)
            self.refused += 1
            return
        if decision.allowed:
            self.allowed += 1
            print(f"allowed: {edge}: {request.who()} may {request.action} on {request.resource} ({decision.because()})", file=self.out)
            return
        self.refused += 1
        looked = ", ".join(name for name, _ in [*identity, *resource]) or "no policy at all"
        print(
            f"AccessDenied: {request.who()} is not authorized to perform {request.action} on {request.resource}\n"
            f"  {edge}: {decision.because()} (read: {looked})",
            file=self.out,
        )


    def mismatch(self, text):
        """What the stage deploys differs from what its code expects: a call that would fail."""
        self.refused += 1
        print(f"MISMATCH: {text}", file=self.out)

    def matches(self, text):
        self.allowed += 1
        print(f"as declared: {text}", file=self.out)


def account_of(arn):
    return arn.split(":")[4]


def alarms_to_topics(stage, report):
    """CloudWatch publishes an alarm's notification to each SNS topic of its actions as
    cloudwatch.amazonaws.com, on behalf of the alarm (aws:SourceArn, aws:SourceAccount), over
    TLS: "Why didn't I receive an SNS notification for my CloudWatch alarm trigger?"
    (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger) and the SNS
    Developer Guide's access policy cases
    (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html)."""
    names = stage.of("AWS::CloudWatch::Alarm")
    for start in range(0, len(names), 100):
        for alarm in stage.cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])["MetricAlarms"]:
            actions = alarm.get("AlarmActions", []) + alarm.get("OKActions", []) + alarm.get("InsufficientDataActions", [])
            for topic in sorted({a for a in actions if a.split(":")[2:3] == ["sns"]}):
                try:
                    attributes = stage.sns.get_topic_attributes(TopicArn=topic)["Attributes"]
                except stage.sns.exceptions.NotFoundException:
                    print(f"MISSING: alarm {alarm['AlarmName']} notifies {topic}, which does not exist: deploy the config stack (make deploy-config)", file=report.out)
                    report.refused += 1
                    continue
                policy = json.loads(attributes["Policy"]) if attributes.get("Policy") else {}
                context = {"aws:SourceArn": alarm["AlarmArn"], "aws:SourceAccount": account_of(alarm["AlarmArn"]), "aws:SecureTransport": "true"}
                request = Request({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish", topic, context)
                report.check(request, f"alarm {alarm['AlarmName']} → topic", resource=[(f"the policy of topic {topic.split(':')[-1]}", policy)])


# How API Gateway invokes a Lambda integration, by its URI's path after `:lambda:path`: Invoke,
# which hands it the function's whole answer, or InvokeWithResponseStream, which hands it the
# answer as the function writes it. "Set up a Lambda proxy integration with payload response
# streaming in API Gateway"
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html).
INVOKE = ("/2015-03-31/functions/", "/invocations")
INVOKE_STREAMING = ("/2021-11-15/functions/", "/response-streaming-invocations")


def lambda_invocation(uri):
    """(the function's ARN, INVOKE or INVOKE_STREAMING) of an API Gateway integration's URI
    (arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations),
    (None, None) for an integration of another kind."""
    for how in (INVOKE, INVOKE_STREAMING):
        marker, end = ":lambda:path" + how[0], how[1]
        if uri and marker in uri and uri.endswith(end):
            return uri.split(marker, 1)[1][: -len(end)], how
    return None, None


def lambda_target(uri):
    """The function an API Gateway integration invokes, from its URI, or None for an
    integration of another kind."""
    return lambda_invocation(uri)[0]


def invoked_by_api(stage, report, function, source_arn, edge):
    """API Gateway invokes a Lambda integration as apigateway.amazonaws.com, on behalf of the
    route's execute-api ARN: "Control access to a REST API with IAM permissions", "Lambda
    resource-based policy" (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html)
    and the execute-api ARN format
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html).
    An integration that streams calls InvokeWithResponseStream, which "requires permission for
    the lambda:InvokeFunction action" too
    (https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html)."""
    context = {"aws:SourceArn": source_arn, "aws:SourceAccount": account_of(function)}
    request = Request({"Service": "apigateway.amazonaws.com"}, "lambda:InvokeFunction", function, context)
    report.check(request, edge, resource=stage.function_policy(function))


def apis_to_functions(stage, report):
    """API Gateway → each integration's function; returns the WebSocket (API, stage, function)
    triples, whose functions answer through the API's connections."""
    websockets = []
    for api in stage.of("AWS::ApiGatewayV2::Api"):
        integrations = {i["IntegrationId"]: i for i in stage.apigatewayv2.get_integrations(ApiId=api)["Items"]}
        stages = [s["StageName"] for s in stage.apigatewayv2.get_stages(ApiId=api)["Items"]]
        for route in stage.apigatewayv2.get_routes(ApiId=api)["Items"]:
            target = route.get("Target", "")
            integration = integrations.get(target.split("/", 1)[-1]) if target.startswith("integrations/") else None
            function = lambda_target((integration or {}).get("IntegrationUri"))
            for name in stages if function else []:
                source = f"arn:{stage.partition}:execute-api:{stage.region}:{account_of(function)}:{api}/{name}/{route['RouteKey']}"
                invoked_by_api(stage, report, function, source, f"WebSocket route {route['RouteKey']} of {api}/{name} → function")
                if (api, name, function) not in websockets:
                    websockets.append((api, name, function))
    for api in stage.of("AWS::ApiGateway::RestApi"):
        stages = [s["stageName"] for s in stage.apigateway.get_stages(restApiId=api)["item"]]
        for page in stage.apigateway.get_paginator("get_resources").paginate(restApiId=api):
            for resource in page["items"]:
                for method in resource.get("resourceMethods", {}):
                    integration = stage.apigateway.get_method(restApiId=api, resourceId=resource["id"], httpMethod=method).get("methodIntegration", {})
                    function = lambda_target(integration.get("uri"))
                    # ANY stands for every method: `*` in the ARN.
                    verb = "*" if method == "ANY" else method
                    for name in stages if function else []:
                        source = f"arn:{stage.partition}:execute-api:{stage.region}:{account_of(function)}:{api}/{name}/{verb}{resource['path']}"
                        invoked_by_api(stage, report, function, source, f"REST {method} {resource['path']} of {api}/{name} → function")
    return websockets


def connection_posts(stage, report, functions, websockets):
    """A WebSocket route's function, and the worker its service declares, post the answer's
    frames to the client's connection through the API it came in by (the endpoint is the
    event's domain and stage: services/<service>/src/lib.rs, `post_to_connection()`), which
    needs execute-api:ManageConnections on the connection's ARN
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html).
    A connection id is only known at run time: a sample one stands for any."""
    project = stage.project
    by_arn = {config["FunctionArn"]: config for config in functions.values()}
    by_name = {config["FunctionName"]: config for config in functions.values()}
    for api, name, function in websockets:
        callers = [by_arn.get(function) or by_arn.get(function.split(":$LATEST")[0])]
        prefix = f"{project['name']}-{project['stage']}-"
        service = callers[0]["FunctionName"][len(prefix) :] if callers[0] else None
        worker = project["services"].get(service, {}).get("worker")
        if worker:
            callers.append(by_name.get(prefix + worker["function"]))
        for config in filter(None, callers):
            connection = f"arn:{stage.partition}:execute-api:{stage.region}:{account_of(function)}:{api}/{name}/POST/@connections/L0SM9cOFvHcCIhw="
            request = role_request(config, "execute-api:ManageConnections", connection)
            report.check(request, f"{config['FunctionName']} → a connection of {api}/{name}", stage.role_policies(config["Role"]))


def cdn_to_function_urls(stage, report):
    """CloudFront signs requests to a Function URL origin with origin access control, as
    cloudfront.amazonaws.com on behalf of the distribution; since October 2025 a new Function
    URL needs both lambda:InvokeFunctionUrl and lambda:InvokeFunction ("Restrict access to an
    AWS Lambda function URL origin",
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html,
    and "Control access to Lambda function URLs",
    https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html). Lambda sets
    lambda:FunctionUrlAuthType and lambda:InvokedViaFunctionUrl on such calls."""
    urls = {}
    for name in stage.of("AWS::Lambda::Function"):
        try:
            config = stage.lambda_.get_function_url_config(FunctionName=name)
        except stage.lambda_.exceptions.ResourceNotFoundException:
            continue
        urls[config["FunctionUrl"].split("/")[2]] = config
    for distribution in stage.of("AWS::CloudFront::Distribution"):
        config = stage.cloudfront.get_distribution_config(Id=distribution)["DistributionConfig"]
        for origin in config["Origins"].get("Items", []):
            url = urls.get(origin["DomainName"])
            if url is None or not origin.get("OriginAccessControlId"):
                continue
            function = url["FunctionArn"]
            source = f"arn:{stage.partition}:cloudfront::{account_of(function)}:distribution/{distribution}"
            context = {
                "aws:SourceArn": source,
                "aws:SourceAccount": account_of(function),
                "lambda:FunctionUrlAuthType": url["AuthType"],
                "lambda:InvokedViaFunctionUrl": "true",
            }
            for action in ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction"):
                request = Request({"Service": "cloudfront.amazonaws.com"}, action, function, context)
                report.check(request, f"CloudFront {distribution} origin {origin['Id']} → function URL", resource=stage.function_policy(function))


def role_request(config, action, resource, context=None):
    role = config["Role"]
    return Request({"AWS": role}, action, resource, context or {}, account=account_of(role))


def destinations(stage, report, functions):
    """Lambda sends an asynchronous invocation's record to its destinations with the function's
    execution role (invocation-async-retain-records.html, above)."""
    for name, config in functions.items():
        try:
            invoke = stage.lambda_.get_function_event_invoke_config(FunctionName=name)
        except stage.lambda_.exceptions.ResourceNotFoundException:
            continue
        for when, destination in sorted((invoke.get("DestinationConfig") or {}).items()):
            target = (destination or {}).get("Destination")
            if not target:
                continue
            service = target.split(":")[2]
            action = DESTINATION_ACTIONS.get(service)
            if action is None:
                print(f"CANNOT CHECK {name} {when} → {target}: not a destination kind this check knows", file=report.out)
                report.refused += 1
                continue
            resource = stage.function_policy(target) if service == "lambda" else []
            report.check(role_request(config, action, target), f"{name} {when} → destination", stage.role_policies(config["Role"]), resource)


def model_calls(stage, report, functions):
    """The calls every service makes with its role: its configuration from SSM
    (crates/genai/src/config.rs load_parameters: ssm:GetParametersByPath on the path its
    `configEnv` variable names; as_declared says when a function lacks it),
    and for each function that calls the model (a service's own function, or its declared
    worker instead), ConverseStream (crates/genai/src/bedrock.rs) on the model its deployed
    configuration names: MODEL_ID in its environment, else `model-id` under its SSM path, else
    the project's model (config.rs). Through an inference profile, Bedrock authorizes the
    profile and the foundation model in the region it routes to ("Prerequisites for inference
    profiles", https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html)."""
    project = stage.project
    calls_model = set()
    for service, declared in project["services"].items():
        worker = declared.get("worker")
        calls_model.add(f"{project['name']}-{project['stage']}-{worker['function'] if worker else service}")
    for name, config in sorted(functions.items()):
        env = (config.get("Environment") or {}).get("Variables", {})
        identity = stage.role_policies(config["Role"])
        path = env.get(project["configEnv"], "").strip("/")
        parameters = {}
        if path:
            arn = f"arn:{stage.partition}:ssm:{stage.region}:{account_of(config['FunctionArn'])}:parameter/{path}"
            report.check(role_request(config, "ssm:GetParametersByPath", arn), f"{name} → its configuration", identity)
            pages = stage.ssm.get_paginator("get_parameters_by_path").paginate(Path=f"/{path}", Recursive=True)
            parameters = {p["Name"].rsplit("/", 1)[-1]: p["Value"] for page in pages for p in page["Parameters"]}
        if name not in calls_model:
            continue
        model_id = env.get("MODEL_ID") or parameters.get("model-id") or deploy_model.record()["model_id"]
        model = deploy_model.model(model_id, stage.region)
        profile = model["arn"].replace(deploy_model.ACCOUNT_ID, account_of(config["FunctionArn"]))
        resources = [profile]
        if model["foundationModelArn"]:
            resources += foundation_models(stage, model)
        context = {"bedrock:InferenceProfileArn": profile} if model["foundationModelArn"] else {}
        for resource in resources:
            report.check(role_request(config, CONVERSE_STREAM, resource, context), f"{name} → model {model_id}", identity)


def worker_calls(stage, report, functions):
    """A service that declares a worker (services/<service>/Cargo.toml) starts it: its own
    function invokes the function its `env` variable names (services/<service>/src/lib.rs,
    `invoke()` with InvocationType Event), and the worker records each event in the table its
    `ledger-env` variable names (the same file, `put_item()`, a conditional write)."""
    project = stage.project
    by_name = {config["FunctionName"]: config for config in functions.values()}
    for service, declared in sorted(project["services"].items()):
        worker = declared.get("worker")
        caller = by_name.get(f"{project['name']}-{project['stage']}-{service}")
        generations = by_name.get(f"{project['name']}-{project['stage']}-{worker['function']}") if worker else None
        if not worker or not caller or not generations:
            continue
        env = lambda config: (config.get("Environment") or {}).get("Variables", {})  # noqa: E731
        target = env(caller).get(worker["env"])
        if not target:
            print(f"MISSING: {caller['FunctionName']} has no {worker['env']} in its environment: it cannot start its worker; deploy {service} again (make deploy-{service})", file=report.out)
            report.refused += 1
        else:
            arn = target if target.startswith("arn:") else f"arn:{stage.partition}:lambda:{stage.region}:{account_of(caller['FunctionArn'])}:function:{target}"
            report.check(role_request(caller, "lambda:InvokeFunction", arn), f"{caller['FunctionName']} → its worker", stage.role_policies(caller["Role"]), stage.function_policy(arn))
        table = env(generations).get(worker["ledger-env"])
        if not table:
            print(f"MISSING: {generations['FunctionName']} has no {worker['ledger-env']} in its environment: deploy {service} again (make deploy-{service})", file=report.out)
            report.refused += 1
        else:
            arn = f"arn:{stage.partition}:dynamodb:{stage.region}:{account_of(generations['FunctionArn'])}:table/{table}"
            report.check(role_request(generations, "dynamodb:PutItem", arn), f"{generations['FunctionName']} → its ledger", stage.role_policies(generations["Role"]))


def stack_files(project, service):
    """Where a service's deployment is written, to say what to fix."""
    if project["iac"] == "cdk":
        return f"infra/cdk/lib/strategies/{service}.ts (and infra/cdk/lib/rust-function.ts for what every function gets)"
    return f"infra/sam/{service}.yaml"


def as_declared(stage, report, functions):
    """What the code expects of its deployment, read from the declarations it compiles in, and
    what the stage deployed. Each function of a service (services/<service>/Cargo.toml: its own,
    its worker's) exists with the declared timeout and memory and has in its environment the
    variables its code reads: the configuration's path under crates/genai's `config-env`
    (genai::CONFIG_ENV) on every function, the worker's name under the worker's `env` on the
    service's function, the origin secret under crates/genai's `origin-secret-env` on the
    function of a service that declares `origin-secret` (without it, that function refuses
    every request), a table under its `ledger-env` on the worker. Each service's trigger
    answers where the app's origin sends its route: a WebSocket API with $connect, $disconnect
    and each declared route on the service's function; a REST API with a POST method on the
    route as the CDN's router rewrites it (the declaration's `cdn` rule), whose integration
    streams when the trigger is a streaming REST API's; a Function URL that
    streams its response (RESPONSE_STREAM) and, without an origin secret, takes only signed
    requests (AWS_IAM, which CloudFront's origin access control signs). A variable renamed, a
    path changed or a limit edited in one place is a call that fails on AWS: each is named
    here with the file that deploys it."""
    project = stage.project
    prefix = f"{project['name']}-{project['stage']}-"
    by_name = {config["FunctionName"]: config for config in functions.values()}
    config_path = project["paths"]["config"]
    for service, declared in sorted(project["services"].items()):
        stack = prefix + service
        if stack not in stage.stacks:
            print(f"not deployed: {stack} (make deploy-{service}); nothing of it is checked", file=report.out)
            continue
        fix = f"fix {stack_files(project, service)} and deploy it again (make deploy-{service})"
        worker = declared.get("worker")
        own = {project["configEnv"]: config_path} | ({worker["env"]: prefix + worker["function"]} if worker else {})
        if declared["origin-secret"]:
            own[project["originSecret"]["env"]] = SECRET
        expected = [(service, declared, own)]
        if worker:
            expected.append((worker["function"], worker, {project["configEnv"]: config_path, worker["ledger-env"]: None}))
        for part, limits, variables in expected:
            name = prefix + part
            config = by_name.get(name)
            if config is None:
                report.mismatch(f"{stack} has no function {name}, which the code runs as (services/{service}/Cargo.toml): {fix}")
                continue
            env = (config.get("Environment") or {}).get("Variables", {})
            for variable, want in variables.items():
                got = env.get(variable)
                if got is None:
                    has = ", ".join(sorted(env)) or "none"
                    report.mismatch(f"{name} has no {variable} in its environment, which its code reads (its variables: {has}): {fix}")
                elif want is SECRET:
                    report.matches(f"{name} {variable} is set (its value is not shown)")
                elif want is not None and got != want:
                    report.mismatch(f"{name} has {variable}={got}, where its code expects {want}: {fix}")
                else:
                    report.matches(f"{name} {variable}={got}")
            for key, field, unit in (("timeout-seconds", "Timeout", "s"), ("memory-mb", "MemorySize", " MB")):
                if config.get(field) != limits[key]:
                    report.mismatch(f"{name} deploys {field} {config.get(field)}{unit}, where services/{service}/Cargo.toml declares {key} = {limits[key]}: {fix}")
                else:
                    report.matches(f"{name} {field} {config[field]}{unit}")
        function = by_name.get(prefix + service)
        if function is not None:
            trigger(stage, report, stack, service, declared, function, fix)


def trigger(stage, report, stack, service, declared, function, fix):
    """The service's trigger, in its own stack, answers its declared route (as_declared)."""
    kind = declared["trigger"]
    # An integration names the function by ARN, perhaps with a version or alias after it.
    invokes = lambda uri: (lambda_target(uri) or "").split(":function:")[-1].split(":")[0] == function["FunctionName"]  # noqa: E731
    if kind == "apigateway-websocket":
        apis = stage.of("AWS::ApiGatewayV2::Api", stack)
        if not apis:
            report.mismatch(f"{stack} has no WebSocket API, which serves {declared['route']}: {fix}")
            return
        for api in apis:
            integrations = {i["IntegrationId"]: i for i in stage.apigatewayv2.get_integrations(ApiId=api)["Items"]}
            routes = {r["RouteKey"]: integrations.get(r.get("Target", "").split("/", 1)[-1], {}) for r in stage.apigatewayv2.get_routes(ApiId=api)["Items"]}
            for key in ["$connect", "$disconnect", *declared.get("routes", [])]:
                if key not in routes:
                    report.mismatch(f"WebSocket API {api} of {stack} has no route {key}, which services/{service} answers (its routes: {', '.join(sorted(routes)) or 'none'}): {fix}")
                elif not invokes(routes[key].get("IntegrationUri")):
                    report.mismatch(f"WebSocket route {key} of {api} does not invoke {function['FunctionName']}: {fix}")
                else:
                    report.matches(f"WebSocket route {key} of {api} → {function['FunctionName']}")
    elif deploy_model.behind_rest_api(declared):
        # The path the CDN's router asks the API's stage for (cdn.py, functions/router.js).
        path = deploy_model.api_path(declared)
        apis = stage.of("AWS::ApiGateway::RestApi", stack)
        if not apis:
            report.mismatch(f"{stack} has no REST API, which serves {declared['route']}: {fix}")
            return
        for api in apis:
            resources = {r["path"]: r for page in stage.apigateway.get_paginator("get_resources").paginate(restApiId=api) for r in page["items"]}
            methods = [m for m in ("POST", "ANY") if m in resources.get(path, {}).get("resourceMethods", {})]
            if not methods:
                paths = ", ".join(f"{m} {p}" for p, r in sorted(resources.items()) for m in r.get("resourceMethods", {})) or "none"
                report.mismatch(f"REST API {api} of {stack} has no POST {path}, where the CDN sends {declared['route']} (its methods: {paths}): {fix}")
                continue
            integration = stage.apigateway.get_method(restApiId=api, resourceId=resources[path]["id"], httpMethod=methods[0]).get("methodIntegration", {})
            if not invokes(integration.get("uri")):
                report.mismatch(f"REST {methods[0]} {path} of {api} does not invoke {function['FunctionName']}: {fix}")
                continue
            report.matches(f"REST {methods[0]} {path} of {api} → {function['FunctionName']}")
            if kind == deploy_model.REST_STREAMING:
                streams(report, integration, f"REST {methods[0]} {path} of {api}", function, fix)
    elif kind == "function-url-streaming":
        try:
            url = stage.lambda_.get_function_url_config(FunctionName=function["FunctionName"])
        except stage.lambda_.exceptions.ResourceNotFoundException:
            report.mismatch(f"{function['FunctionName']} has no Function URL, which serves {declared['route']}: {fix}")
            return
        # A buffered URL would send the whole answer at its end (urls-invocation.html:
        # https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html).
        wanted = {"InvokeMode": "RESPONSE_STREAM"} | ({} if declared["origin-secret"] else {"AuthType": "AWS_IAM"})
        for field, want in wanted.items():
            if url.get(field, "BUFFERED" if field == "InvokeMode" else None) != want:
                report.mismatch(f"the Function URL of {function['FunctionName']} has {field} {url.get(field)}, where {declared['route']} needs {want}: {fix}")
            else:
                report.matches(f"Function URL of {function['FunctionName']} {field} {want}")
    else:
        print(f"CANNOT CHECK the trigger of {service}: {kind} is not a trigger this check knows", file=report.out)
        report.refused += 1


def streams(report, integration, method, function, fix):
    """A streaming REST trigger's integration hands the client the function's answer as it is
    written: a Lambda proxy integration (AWS_PROXY) that calls InvokeWithResponseStream (its
    URI's path /2021-11-15/functions/<ARN>/response-streaming-invocations) in response transfer
    mode STREAM. The function writes the streaming format (a JSON prelude, eight null bytes, the
    body), which a buffered integration (/2015-03-31/.../invocations, BUFFERED) answers with
    "the HTTP headers and status code but not the response body"; and API Gateway refuses a URI
    and a mode that do not go together (response-transfer-mode-lambda.html, above; "Stream the
    integration response for your proxy integrations in API Gateway":
    https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html)."""
    _, how = lambda_invocation(integration.get("uri"))
    # BUFFERED is API Gateway's default, which an integration that names no mode has.
    mode = integration.get("responseTransferMode") or "BUFFERED"
    shown = lambda invoke: f"...{invoke[0]}<function ARN>{invoke[1]}"  # noqa: E731
    wrong = []
    if integration.get("type") != "AWS_PROXY":
        wrong.append(f"type {integration.get('type')}, not AWS_PROXY")
    if how != INVOKE_STREAMING:
        wrong.append(f"URI {shown(how) if how else integration.get('uri')}, not {shown(INVOKE_STREAMING)}")
    if mode != "STREAM":
        wrong.append(f"responseTransferMode {mode}, not STREAM")
    if wrong:
        report.mismatch(
            f"{method} does not stream what {function['FunctionName']} writes ({'; '.join(wrong)}): a buffered integration answers its headers and status"
            f" without the body; it must be a Lambda proxy integration in response transfer mode STREAM, which calls InvokeWithResponseStream: {fix}"
        )
    else:
        report.matches(f"{method} streams {function['FunctionName']} (AWS_PROXY, {shown(INVOKE_STREAMING)}, STREAM)")


def foundation_models(stage, model):
    """The foundation model in each region the profile routes to, as Bedrock lists them
    (GetInferenceProfile), else in each of the project's `model_regions` (the generator's
    catalog, recorded in .genai-scaffold.toml) where Bedrock cannot be asked."""
    try:
        found = stage.bedrock.get_inference_profile(inferenceProfileIdentifier=model["id"])
        arns = [m["modelArn"] for m in found.get("models", [])]
        if arns:
            return arns
    except (ClientError, BotoCoreError):
        pass
    # Recorded comma-separated (the generator's `destination_regions`).
    regions = [r.strip() for r in deploy_model.record().get("model_regions", "").split(",") if r.strip()] or [stage.region]
    return [f"arn:{stage.partition}:bedrock:{r}::foundation-model/{model['foundationModel']}" for r in regions]


def open_stage(otherwise=""):
    """The deploy model's stage as deployed, read with the caller's credentials, and its name
    for messages: (project, Stage, where). Exits 2 on an invalid model or a stage with no stack
    (`otherwise` ends that message with what else to do), 1 when AWS cannot be read."""
    try:
        project = deploy_model.load()
    except deploy_model.Invalid as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    where = f"stage {project['stage']} of {project['name']} in {project['region']}"
    try:
        stage = Stage(project, boto3.session.Session(region_name=project["region"]))
    except (BotoCoreError, ClientError) as error:
        cannot_read(error, project)
    if not stage.stacks:
        print(f"error: {where} has no stack: deploy it first (make deploy-all STAGE={project['stage']}){otherwise}", file=sys.stderr)
        sys.exit(2)
    return project, stage, where


def cannot_read(error, project):
    """Exits 1 on an error of AWS's, saying what to check."""
    print(f"error: {error}\nCheck your AWS credentials (AWS_PROFILE) and region ({project['region']}): this reads the stage's stacks, functions, roles, topics, APIs and distribution.", file=sys.stderr)
    sys.exit(1)


def main(out=sys.stdout):
    project, stage, where = open_stage()
    try:
        print(f"Checking every call between the parts of {where} ({', '.join(stage.stacks)}); nothing is written.", file=out)
        report = Report(out)
        functions = stage.functions()
        alarms_to_topics(stage, report)
        websockets = apis_to_functions(stage, report)
        cdn_to_function_urls(stage, report)
        destinations(stage, report, functions)
        model_calls(stage, report, functions)
        worker_calls(stage, report, functions)
        connection_posts(stage, report, functions, websockets)
        as_declared(stage, report, functions)
    except (BotoCoreError, ClientError) as error:
        cannot_read(error, project)
    if report.refused:
        print(f"{report.refused} call(s) refused or not as declared, {report.allowed} allowed or as declared: the statements and mismatches named above say what; fix the stack that deploys them and deploy it again.", file=out)
        sys.exit(1)
    print(f"all {report.allowed} calls allowed and as declared", file=out)


if __name__ == "__main__":
    main()
