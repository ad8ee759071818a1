"""moto's server, patched so the project's real deploy commands run against it.

    python -m genai_standin.server --port 5000     # prints "ready: http://localhost:5000"

It listens on 127.0.0.1 only. Point the CLIs at AWS_ENDPOINT_URL=http://localhost:PORT with
dummy credentials: not at 127.0.0.1, since with an IP in the Host header moto's S3 takes the
address for a bucket name and the CLIs' uploaded templates and assets are not found.
What is patched, each against moto 5.2.x:

1. CloudFormation resource types moto has no model for (moto skips them with a warning, then
   fails any Fn::GetAtt on them) get one: from a table below, built by one class factory.
   Where moto has a backend for the service (Lambda URL configs, S3 bucket policies,
   CloudFront, API Gateway v1 and v2) the model calls it, so later API calls (frontend.py's
   invalidation, get-function-url-config, get-apis ...) see the resource; otherwise it only
   records its properties and makes up plausible attributes. A stack update changes such a
   resource in place, keeping its physical id, unless a property CloudFormation replaces on
   changed (tests/standin/test_updates.py).
2. CloudFormationBackend.execute_change_set (and DescribeChangeSet, DeleteChangeSet, which
   lose StackName): stacks made through change sets (cdk deploy,
   cdk bootstrap, sam deploy) never get Outputs or exports in moto; rebuilt after it runs.
   A resource that fails is an HTTP 500 there, with the stack left looking fine: it becomes
   a rolled-back stack with the error in its events, as in AWS. A redeploy (an UPDATE
   change set) finds its stack's old change sets gone and its previous parameter values as
   given, not as resolved.
3. ResourceMap.build_resource_diff: a change set adds resources in template order, ignoring
   DependsOn (an API Gateway Deployment before its Methods fails); DependsOn first.
4. Templates with `Transform: AWS::Serverless-2016-10-31`: sam deploy sends the SAM template
   untransformed (CloudFormation transforms it server-side); moto does not, so samtranslator
   runs where moto parses a stack's or change set's template.
5. moto's RestAPI model ignores `Body` (SAM's OpenAPI definition), so a SAM REST API has no
   methods and its Deployment fails: the body is imported with put_rest_api. moto ignores a
   stack update of a RestApi, a Resource or a Method, so a moved path stayed where it was: a
   RestApi's new Body is imported in place (CloudFormation's RestApi `Body`: "Update
   requires: No interruption"), a Resource whose PathPart, ParentId or RestApiId changed is
   replaced, and a changed Method is made again on its resource.
6. A missing AWS::SSM::Parameter::Value<...> parameter is an HTTP 500 in moto; it becomes the
   ValidationError CloudFormation gives.
7. AWS::SSM::Parameter Tags (a map in CloudFormation) reach moto's put_parameter as a list.
8. moto's API Gateway Deployment gets a physical id (Ref), its RestAPI a delete.
9. Deleting a stack whose bucket is not empty fails (DELETE_FAILED) as in AWS.
10. Requests are served one at a time (the parallel deploys raced in moto's dicts).
11. The preflight's Lambda GetAccountSettings and Bedrock GetFoundationModelAvailability,
    which moto lacks, answer as for a fresh account with model access.
12. A role's inline policies from a template are answered as JSON (moto gave a Python repr).
13. A role's update changes its inline policies and trust policy (moto's kept the old ones).
14. GetFunction's Code.Location, a presigned URL of the deployed package in AWS, names a
    bucket of AWS's in moto: it points at this server, which serves the package the stack
    deployed, so that the stage twin (infra/twin.py) runs the deployed code.
15. An update resolves Systems Manager parameter types again, as CloudFormation does: a
    resource that refers to one whose value changed is modified though its template is not
    (make rotate-origin-secret redeploys the same templates for the new secret).
16. A REST API integration's response transfer mode (BUFFERED or STREAM), which moto drops
    from CloudFormation's AWS::ApiGateway::Method (CDK's) and from an OpenAPI body (SAM's), is
    kept and answered by GetIntegration and GetMethod, so `make check-access` tells an
    integration that streams from one that buffers (PutIntegration, which no deploy calls,
    still drops it). An imported integration's type is answered in capitals, as API
    Gateway's IntegrationType is (moto kept the OpenAPI's `aws_proxy`).

What a stage's calls are authorized by is kept as AWS keeps it, for the project's `make
check-access` (infra/access.py): topic policies, alarms with their actions, and function
permissions in the shape of Lambda's GetPolicy (moto's own AWS::Lambda::Permission model is
replaced: REPLACED below). tests/standin/test_policies.py checks them.
"""

import argparse
import inspect
import json
import logging
import os
import random
import signal
import string
import threading
import uuid
from types import SimpleNamespace

from moto.apigateway.models import APIGatewayBackend, Deployment, Integration, Method, Resource, RestAPI, apigateway_backends
from moto.apigatewayv2.models import apigatewayv2_backends
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import CloudFormationError, UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.cloudfront.models import cloudfront_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.iam.models import Role, iam_backends
from moto.s3.exceptions import BucketNotEmpty
from moto.s3.models import FakeBucket, s3_backends
from moto.sns.models import sns_backends
from moto.ssm.models import Parameter as SsmParameter
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import ThreadedMotoServer
from moto.utilities.utils import get_partition

LOG = logging.getLogger("genai_standin")
# moto's InstanceTrackerMeta files a model under cls.__module__.split(".")[1]: the module must
# be dotted, also when run as `python -m` (where __name__ is "__main__").
MODULE = __spec__.name if __spec__ else __name__
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


class ChangeSetNotFound(CloudFormationError):
    """What DescribeChangeSet and DeleteChangeSet answer for a name the stack does not have."""

    code = "ChangeSetNotFoundException"

    def __init__(self, name):
        super().__init__(f"ChangeSet [{name}] does not exist")


# --- 1. Models for the resource types moto lacks --------------------------------------------


def _random_id(length=10):
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=length))


def _pascal(snake):
    return "".join(part.capitalize() for part in snake.split("_"))


def _call(method, props, **given):
    """Calls a moto backend method, each argument from `given` or else from the CloudFormation
    property of the same name (integration_uri <- IntegrationUri), None when absent."""
    names = [n for n in inspect.signature(method).parameters if n != "self"]
    return method(**{n: given[n] if n in given else props.get(_pascal(n)) for n in names})


class _Standin:
    """What every model made by `_register` shares: the physical id (what Ref returns), the
    attributes Fn::GetAtt reads, and how to undo the creation on delete."""

    ATTRS: tuple = ()
    # The properties whose change CloudFormation's resource reference marks "Update requires:
    # Replacement"; a change of any other is made in place by UPDATE (None: the type is only
    # ever replaced here).
    REPLACE_ON: tuple = ()
    UPDATE = None

    def __init__(self, physical_id, attributes, properties, undo):
        self.physical_id = physical_id
        self.attributes = attributes
        self.properties = properties
        self.undo = undo

    @property
    def physical_resource_id(self):
        return self.physical_id

    @staticmethod
    def cloudformation_name_type():
        return ""

    @classmethod
    def has_cfn_attr(cls, attr):
        return any(attr == a or a.startswith(attr + ".") for a in cls.ATTRS)

    def get_cfn_attribute(self, name):
        # moto splits a YAML `!GetAtt Router.FunctionMetadata.FunctionARN` on every dot and asks
        # for "FunctionMetadata"; samcli's parser asks for "FunctionMetadata.FunctionARN".
        for key, value in self.attributes.items():
            if key == name or key.startswith(name + "."):
                return value
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json.get("Properties", {})
        context = SimpleNamespace(
            account=account_id,
            region=region_name,
            partition=get_partition(region_name),
            name=resource_name,
            logical_id=kwargs.get("LogicalId", "Resource"),
        )
        physical_id, attributes, undo = cls.CREATE(props, context)
        return cls(physical_id, attributes, props, undo)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        props = cloudformation_json.get("Properties", {})
        before = original_resource.properties
        if any(props.get(name) != before.get(name) for name in cls.REPLACE_ON) or cls.UPDATE is None:
            # "Update requires: Replacement": CloudFormation makes the new resource, points
            # the stack at it, and deletes the old one in its cleanup phase.
            new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return new
        # Any other change is made to the resource itself: it keeps its physical id, so what
        # holds that id (an output, an SSM parameter, frontend.py's invalidation) still names it.
        context = SimpleNamespace(
            account=account_id,
            region=region_name,
            partition=get_partition(region_name),
            name=new_resource_name,
            logical_id=getattr(original_resource, "logical_resource_id", "Resource"),
        )
        attributes, undo = cls.UPDATE(original_resource, props, context)
        original_resource.attributes = attributes
        original_resource.properties = props
        original_resource.undo = undo
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass  # never reached: ResourceMap._delete_resource calls the instance's delete() first

    def delete(self, account_id, region_name):
        # Tolerant: the parent (function, API, bucket) may be gone already, as in AWS.
        try:
            if self.undo:
                self.undo()
        except Exception as error:  # noqa: BLE001
            LOG.info("delete of %s %s: %s", self.cloudformation_type(), self.physical_id, error)

    def is_created(self):
        return True


def _stub(*attributes, arn=None):
    """A model that calls nothing: Ref and each attribute give a made-up id, or `arn` filled
    from the properties (p) and the context (c)."""

    def create(props, context):
        physical_id = arn.format(p=props, c=context, id=_random_id()) if arn else _random_id()
        return physical_id, {a: physical_id for a in attributes}, None

    return create


def lambda_url(p, c):
    backend = lambda_backends[c.account][c.region]
    config = backend.create_function_url_config(p["TargetFunctionArn"], p)
    config.url = config.url.rstrip("/") + "/"  # AWS's Function URLs end with a slash
    arn = config.function.function_arn
    undo = lambda: backend.delete_function_url_config(p["TargetFunctionArn"])  # noqa: E731
    return arn, {"FunctionArn": arn, "FunctionUrl": config.url}, undo


def event_invoke_config(p, c):
    # Kept on the function, so a deployed stage's asynchronous settings can be read back
    # (GetFunctionEventInvokeConfig); a redeploy replaces them, as in AWS.
    backend = lambda_backends[c.account][c.region]
    name = p["FunctionName"]
    config = {k: p[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig") if k in p}
    backend.get_function(name).event_invoke_config = []
    backend.put_function_event_invoke_config(name, config)

    def undo():
        try:
            backend.get_function(name).event_invoke_config = []
        except Exception:  # the function went first: nothing is left to remove
            pass

    return f"{name}:{p.get('Qualifier', '$LATEST')}", {}, undo


def bucket_policy(p, c):
    # moto evaluates bucket policies without the request's context: a Deny with a Condition
    # (the usual "TLS only" aws:SecureTransport=false) denies every request, uploads included
    # (moto.iam.access_control.IAMPolicyStatement.is_action_permitted). Those statements are
    # left out of what moto enforces.
    backend = s3_backends[c.account][c.partition]
    document = dict(p["PolicyDocument"])
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    document["Statement"] = [s for s in statements if not (s.get("Effect") == "Deny" and "Condition" in s)]
    backend.put_bucket_policy(p["Bucket"], json.dumps(document).encode())
    return p["Bucket"], {}, lambda: backend.delete_bucket_policy(p["Bucket"])


def lambda_permission(p, c):
    # The statement AddPermission writes, as Lambda's GetPolicy returns it (each property as
    # the condition AWS makes of it), so that a deployed stage's function policies can be read
    # back and evaluated (infra/access.py). moto's own model keeps the CloudFormation
    # properties as statement keys (SourceArn, FunctionUrlAuthType, ...) and never removes
    # the statement.
    backend = lambda_backends[c.account][c.region]
    function = backend.get_function(p["FunctionName"])
    principal = p["Principal"]
    if principal.endswith(".amazonaws.com"):
        principal = {"Service": principal}
    elif principal != "*":
        principal = {"AWS": principal if principal.startswith("arn:") else f"arn:{c.partition}:iam::{principal}:root"}
    condition = {}
    conditions = (
        ("SourceArn", "ArnLike", "AWS:SourceArn"),
        ("SourceAccount", "StringEquals", "AWS:SourceAccount"),
        ("PrincipalOrgID", "StringEquals", "aws:PrincipalOrgID"),
        ("FunctionUrlAuthType", "StringEquals", "lambda:FunctionUrlAuthType"),
    )
    for prop, operator, key in conditions:
        if p.get(prop):
            condition.setdefault(operator, {})[key] = p[prop]
    if str(p.get("InvokedViaFunctionUrl", "")).lower() == "true":
        condition.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = "true"
    sid = f"{c.logical_id}-{_random_id(12)}"
    statement = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": p["Action"], "Resource": function.function_arn}
    if condition:
        statement["Condition"] = condition
    function.policy.statements.append(statement)
    function.policy.revision = str(uuid.uuid4())

    def undo():
        function.policy.statements[:] = [s for s in function.policy.statements if s.get("Sid") != sid]

    return sid, {}, undo


def topic_policy(p, c):
    # moto has no AWS::SNS::TopicPolicy model (it skips the resource), so a topic kept SNS's
    # default policy whatever the stack said. Deleting the policy gives the topic back the one
    # it had, as AWS gives back the default.
    backend = sns_backends[c.account][c.region]
    before = {topic: backend.get_topic(topic).policy for topic in p["Topics"]}
    for topic in p["Topics"]:
        backend.set_topic_attribute(topic, "policy", json.dumps(p["PolicyDocument"]))

    def undo():
        for topic, policy in before.items():
            if topic in backend.topics:
                backend.set_topic_attribute(topic, "policy", policy)

    return _random_id(), {}, undo


def alarm(p, c):
    # A real alarm in moto's CloudWatch, so DescribeAlarms shows its actions and ARN.
    backend = cloudwatch_backends[c.account][c.region]
    name = p.get("AlarmName") or c.name
    made = _call(
        backend.put_metric_alarm,
        p,
        name=name,
        description=p.get("AlarmDescription"),
        dimensions=p.get("Dimensions") or [],
        alarm_actions=p.get("AlarmActions") or [],
        ok_actions=p.get("OKActions") or [],
        insufficient_data_actions=p.get("InsufficientDataActions") or [],
        metric_data_queries=None,
        actions_enabled=p.get("ActionsEnabled", True),
        tags=None,
    )
    return name, {"Arn": made.alarm_arn}, lambda: backend.delete_alarms([name])


def _moto_distribution_config(config, reference):
    """CloudFormation's DistributionConfig in the shape moto's API parser produces."""

    def behavior(b):
        b = dict(b)
        if "AllowedMethods" in b:
            cached = b.pop("CachedMethods", ["GET", "HEAD"])
            b["AllowedMethods"] = {"Items": b["AllowedMethods"], "CachedMethods": {"Items": cached}}
        b.pop("FunctionAssociations", None)
        return b

    origins = []
    for origin in config.get("Origins", []):
        origin = dict(origin)
        if "CustomOriginConfig" in origin:
            custom = dict(origin["CustomOriginConfig"])
            custom["OriginSslProtocols"] = {"Items": custom.pop("OriginSSLProtocols", ["TLSv1.2"])}
            origin["CustomOriginConfig"] = custom
        # CloudFormation's list of {HeaderName, HeaderValue} is the API's CustomHeaders, which
        # GetDistributionConfig returns (the stage twin adds them to requests as CloudFront does).
        headers = origin.pop("OriginCustomHeaders", [])
        origin["CustomHeaders"] = {"Quantity": len(headers), "Items": headers}
        origins.append(origin)
    behaviors = [behavior(b) for b in config.get("CacheBehaviors", [])]
    keep = ("Comment", "Enabled", "DefaultRootObject", "PriceClass", "HttpVersion", "IsIPV6Enabled", "WebACLId")
    return {
        **{k: config[k] for k in keep if k in config},
        "CallerReference": reference,
        "Origins": {"Quantity": len(origins), "Items": origins},
        "DefaultCacheBehavior": behavior(config["DefaultCacheBehavior"]),
        "CacheBehaviors": {"Quantity": len(behaviors), "Items": behaviors},
    }


def distribution(p, c):
    backend = cloudfront_backends[c.account][c.partition]
    config = _moto_distribution_config(p["DistributionConfig"], str(uuid.uuid4()))
    dist, _, _ = backend.create_distribution(config, p.get("Tags", []))
    undo = lambda: backend.delete_distribution(dist.id, if_match=True)  # noqa: E731
    return dist.id, {"Id": dist.id, "DomainName": dist.domain_name}, undo


def cloudfront_function(p, c):
    backend = cloudfront_backends[c.account][c.partition]
    function = backend.create_function(p["Name"], p.get("FunctionConfig", {}), p.get("FunctionCode", "").encode(), [])
    if p.get("AutoPublish"):
        function.stage = "LIVE"
    attributes = {"FunctionARN": function.arn, "FunctionMetadata.FunctionARN": function.arn, "Stage": function.stage}
    return function.arn, attributes, lambda: backend.delete_function(function.name, if_match=True)


def origin_access_control(p, c):
    backend = cloudfront_backends[c.account][c.partition]
    control = backend.create_origin_access_control(p["OriginAccessControlConfig"])
    return control.id, {"Id": control.id}, lambda: backend.delete_origin_access_control(control.id)


def v2_api(p, c):
    backend = apigatewayv2_backends[c.account][c.region]
    api = _call(backend.create_api, p, tags=p.get("Tags") or {})
    if api.protocol_type == "WEBSOCKET":
        api.api_endpoint = f"wss://{api.api_id}.execute-api.{c.region}.amazonaws.com"
    attributes = {"ApiId": api.api_id, "ApiEndpoint": api.api_endpoint}
    return api.api_id, attributes, lambda: backend.delete_api(api.api_id)


def v2_integration(p, c):
    backend = apigatewayv2_backends[c.account][c.region]
    integration = _call(backend.create_integration, p)
    undo = lambda: backend.delete_integration(p["ApiId"], integration.id)  # noqa: E731
    return integration.id, {"IntegrationId": integration.id}, undo


def v2_route(p, c):
    backend = apigatewayv2_backends[c.account][c.region]
    route = _call(backend.create_route, p)
    return route.route_id, {"RouteId": route.route_id}, lambda: backend.delete_route(p["ApiId"], route.route_id)


def v2_stage(p, c):
    backend = apigatewayv2_backends[c.account][c.region]

    def camel(value):  # moto keeps the API's lowerCamel keys
        if isinstance(value, dict):
            return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
        return value

    stage = backend.create_stage(p["ApiId"], camel({k: v for k, v in p.items() if k not in ("ApiId", "Tags")}))
    return stage.name, {}, lambda: backend.delete_stage(p["ApiId"], stage.name)


def rest_stage(p, c):
    backend = apigateway_backends[c.account][c.region]
    backend.create_stage(
        p["RestApiId"],
        p["StageName"],
        p["DeploymentId"],
        variables=p.get("Variables"),
        description=p.get("Description", ""),
        tracing_enabled=p.get("TracingEnabled"),
    )
    return p["StageName"], {}, lambda: backend.delete_stage(p["RestApiId"], p["StageName"])


def rest_account(p, c):
    backend = apigateway_backends[c.account][c.region]
    backend.update_account([{"op": "replace", "path": "/cloudwatchRoleArn", "value": p.get("CloudWatchRoleArn")}])
    return f"{c.name}", {}, None  # the account setting outlives the stack, as in AWS


def rest_request_validator(p, c):
    backend = apigateway_backends[c.account][c.region]
    name = p.get("Name") or c.name
    v = backend.create_request_validator(p["RestApiId"], name, p.get("ValidateRequestBody"), p.get("ValidateRequestParameters"))
    undo = lambda: backend.delete_request_validator(p["RestApiId"], v.id)  # noqa: E731
    return v.id, {"RequestValidatorId": v.id}, undo


def rest_gateway_response(p, c):
    backend = apigateway_backends[c.account][c.region]
    backend.put_gateway_response(
        p["RestApiId"], p["ResponseType"], p.get("StatusCode"), p.get("ResponseParameters"), p.get("ResponseTemplates")
    )
    undo = lambda: backend.delete_gateway_response(p["RestApiId"], p["ResponseType"])  # noqa: E731
    return _random_id(), {}, undo


def rest_model(p, c):
    backend = apigateway_backends[c.account][c.region]
    name = p.get("Name") or f"{c.logical_id}{_random_id(6)}".replace("-", "")
    schema = p.get("Schema", {})
    schema = schema if isinstance(schema, str) else json.dumps(schema)
    backend.create_model(p["RestApiId"], name, p.get("ContentType", "application/json"), p.get("Description", ""), schema)
    return name, {}, lambda: backend.delete_model(p["RestApiId"], name)


def _redo(original, props, context):
    """An update that makes the resource again under the same physical id: for those keyed by
    a name the update keeps (a stage, a model, a policy) and those whose settings are one
    put (asynchronous settings, a gateway response)."""
    original.delete(context.account, context.region)
    _, attributes, undo = type(original).CREATE(props, context)
    return attributes, undo


def _keep(original, props, context):
    """An update of a resource that only records its properties: its ids stay."""
    return original.attributes, original.undo


def lambda_url_update(o, p, c):
    backend = lambda_backends[c.account][c.region]
    config = backend.update_function_url_config(p["TargetFunctionArn"], p)
    config.url = config.url.rstrip("/") + "/"
    return {**o.attributes, "FunctionUrl": config.url}, o.undo


def distribution_update(o, p, c):
    backend = cloudfront_backends[c.account][c.partition]
    dist, _ = backend.get_distribution(o.physical_id)
    config = _moto_distribution_config(p["DistributionConfig"], dist.distribution_config.caller_reference)
    backend.update_distribution(config, o.physical_id, if_match=True)
    return o.attributes, o.undo


def origin_access_control_update(o, p, c):
    cloudfront_backends[c.account][c.partition].update_origin_access_control(o.physical_id, p["OriginAccessControlConfig"])
    return o.attributes, o.undo


def v2_api_update(o, p, c):
    _call(apigatewayv2_backends[c.account][c.region].update_api, p, api_id=o.physical_id)
    return o.attributes, o.undo


def v2_integration_update(o, p, c):
    backend = apigatewayv2_backends[c.account][c.region]
    _call(backend.update_integration, p, integration_id=o.physical_id)
    return o.attributes, o.undo


def v2_route_update(o, p, c):
    _call(apigatewayv2_backends[c.account][c.region].update_route, p, route_id=o.physical_id)
    return o.attributes, o.undo


def rest_request_validator_update(o, p, c):
    flag = lambda name: str(bool(p.get(name))).lower()  # noqa: E731
    operations = [
        {"op": "replace", "path": "/validateRequestBody", "value": flag("ValidateRequestBody")},
        {"op": "replace", "path": "/validateRequestParameters", "value": flag("ValidateRequestParameters")},
    ]
    apigateway_backends[c.account][c.region].update_request_validator(p["RestApiId"], o.physical_id, operations)
    return o.attributes, o.undo


# type: (attributes Fn::GetAtt may read, how to create it, the properties whose change replaces
# it, how to update it in place). The third is each type's "Update requires: Replacement"
# properties in CloudFormation's resource reference
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html);
# every other property is updated in place, as AWS does, and the physical id stays.
MODELS = {
    "AWS::Lambda::Url": (("FunctionArn", "FunctionUrl"), lambda_url, ("TargetFunctionArn", "Qualifier"), lambda_url_update),
    "AWS::Lambda::EventInvokeConfig": ((), event_invoke_config, ("FunctionName", "Qualifier"), _redo),
    "AWS::Lambda::Alias": (("AliasArn",), _stub("AliasArn", arn="{p[FunctionName]}:{p[Name]}"), ("FunctionName", "Name"), _keep),
    "AWS::S3::BucketPolicy": ((), bucket_policy, ("Bucket",), _redo),
    "AWS::CloudFront::Distribution": (("Id", "DomainName"), distribution, (), distribution_update),
    # Its ARN is made of its name, so making it again keeps the physical id.
    "AWS::CloudFront::Function": (("FunctionARN", "FunctionMetadata.FunctionARN", "Stage"), cloudfront_function, ("Name",), _redo),
    "AWS::CloudFront::OriginAccessControl": (("Id",), origin_access_control, (), origin_access_control_update),
    "AWS::CloudFront::OriginRequestPolicy": (("Id",), _stub("Id"), (), _keep),
    "AWS::CloudFront::ResponseHeadersPolicy": (("Id",), _stub("Id"), (), _keep),
    "AWS::CloudFront::CachePolicy": (("Id",), _stub("Id"), (), _keep),
    "AWS::ApiGatewayV2::Api": (("ApiId", "ApiEndpoint"), v2_api, ("ProtocolType",), v2_api_update),
    "AWS::ApiGatewayV2::Integration": (("IntegrationId",), v2_integration, ("ApiId",), v2_integration_update),
    "AWS::ApiGatewayV2::Route": (("RouteId",), v2_route, ("ApiId",), v2_route_update),
    "AWS::ApiGatewayV2::Stage": ((), v2_stage, ("ApiId", "StageName"), _redo),
    "AWS::ApiGateway::Stage": ((), rest_stage, ("RestApiId", "StageName"), _redo),
    "AWS::ApiGateway::Account": (("Id",), rest_account, (), _redo),
    "AWS::ApiGateway::RequestValidator": (("RequestValidatorId",), rest_request_validator, ("RestApiId", "Name"), rest_request_validator_update),
    "AWS::ApiGateway::GatewayResponse": (("Id",), rest_gateway_response, ("RestApiId", "ResponseType"), _redo),
    "AWS::ApiGateway::Model": ((), rest_model, ("RestApiId", "Name", "ContentType"), _redo),
    "AWS::Budgets::Budget": ((), _stub(), ("NotificationsWithSubscribers",), _keep),
    "AWS::CloudWatch::Alarm": (("Arn",), alarm, ("AlarmName",), _redo),
    "AWS::SNS::TopicPolicy": ((), topic_policy, (), _redo),
    # Every property of a permission is "Update requires: Replacement".
    "AWS::Lambda::Permission": ((), lambda_permission, (), None),
    "AWS::CDK::Metadata": ((), _stub(), (), _keep),  # moto only warns; a model keeps the log readable
}


# Types moto has a model for that loses what a deployed stage's policies are read back for
# (the stand-in's model, registered later, wins in moto's type map).
REPLACED = ("AWS::Lambda::Permission",)


def _register(cfn_type, attributes, create, replace_on, update):
    # parsing.get_model_list is CloudFormationModel.__subclasses__(): direct subclasses only.
    cls = type(
        "Standin" + cfn_type.replace("::", ""),
        (_Standin, CloudFormationModel),
        {
            "__module__": MODULE,
            "ATTRS": attributes,
            "CREATE": staticmethod(create),
            "REPLACE_ON": replace_on,
            "UPDATE": staticmethod(update),
            "cloudformation_type": staticmethod(lambda: cfn_type),
        },
    )
    return cls


# --- 2.-9. Patches of moto's CloudFormation -------------------------------------------------


def _depends_on_order(resources, names):
    ordered, seen = [], set()

    def visit(name):
        if name in seen or name not in resources:
            return
        seen.add(name)
        depends = resources[name].get("DependsOn", [])
        for dependency in [depends] if isinstance(depends, str) else depends:
            visit(dependency)
        if name in names:
            ordered.append(name)

    for name in names:
        visit(name)
    return ordered


_transform_lock = threading.Lock()


def _sam_transform(owner, parameters, account_id, region_name):
    """Replaces owner.template_dict (a Stack's or a ChangeSet's, just parsed from
    owner.template) by samtranslator's output when it carries the SAM transform."""
    transforms = owner.template_dict.get("Transform") if isinstance(owner.template_dict, dict) else None
    if SAM_TRANSFORM not in (transforms if isinstance(transforms, list) else [transforms]):
        return
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    iam = iam_backends[account_id][get_partition(region_name)]

    class MotoManagedPolicies:  # the AWS managed policies moto knows, by name
        def load(self):
            return {p.name: arn for arn, p in iam.managed_policies.items()}

    values = {
        **(parameters or {}),
        "AWS::Region": region_name,
        "AWS::AccountId": account_id,
        "AWS::Partition": get_partition(region_name),
    }
    with _transform_lock:
        ArnGenerator.BOTO_SESSION_REGION_NAME = region_name
        try:
            owner.template_dict = transform(yaml_parse(owner.template), values, MotoManagedPolicies())
        except Exception as error:  # InvalidDocumentException and friends: a template error
            raise ValidationError(message=f"Transform {SAM_TRANSFORM} failed with: {error}") from error


_INSTALLED = []


def install():
    """Registers the models and applies the patches (once, before the server starts; a second
    call, as from a second test module in the same process, changes nothing)."""
    if _INSTALLED:
        return _INSTALLED[0]
    missing = {t: spec for t, spec in MODELS.items() if t not in parsing.get_model_map() or t in REPLACED}
    for cfn_type, spec in missing.items():
        _register(cfn_type, *spec)
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()

    # 2. Outputs of stacks executed from change sets. moto's execute_change_set applies the
    # resources and sets stack.template, but the Stack kept the template_dict ({} for a new
    # stack) and the OutputMap built when the change set was created.
    execute_change_set = CloudFormationBackend.execute_change_set

    def execute_with_outputs(self, change_set_name, stack_name=None):
        # CDK names every stack's change set alike: prefer the one of this stack.
        for arn, candidate in list(self.change_sets.items()):
            if candidate.change_set_name == change_set_name and stack_name in (candidate.stack_name, candidate.stack_id):
                change_set_name = arn
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        try:
            execute_change_set(self, change_set_name, stack_name)
        except Exception as error:
            # moto answers HTTP 500 and leaves the stack as it was, which the CLIs may take for
            # success. AWS answers 200, rolls back and reports the failure in the stack.
            LOG.exception("change set %s of %s failed", change_set.change_set_name, stack.name)
            kind = change_set.change_set_type
            stack._add_stack_event(f"{kind}_FAILED", resource_status_reason=f"{type(error).__name__}: {error}")
            if kind == "CREATE":
                try:
                    stack.resource_map.delete()
                except Exception:  # noqa: BLE001 (what cannot be deleted stays, as in a failed rollback)
                    LOG.exception("rollback of %s", stack.name)
            stack.status = "ROLLBACK_COMPLETE" if kind == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
            change_set.execution_status = "EXECUTE_FAILED"
            return
        # "After you execute a change set, CloudFormation deletes all change sets that are
        # associated with the stack" (CloudFormation API Reference, ExecuteChangeSet).
        for arn, candidate in list(self.change_sets.items()):
            if candidate.stack_id == stack.stack_id:
                del self.change_sets[arn]
        stack.parameters = change_set.parameters
        stack.template_dict = change_set.template_dict
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.execute_change_set = execute_with_outputs

    # 2b. The same for DescribeChangeSet and DeleteChangeSet, whose handlers in moto's
    # CloudFormationResponse drop StackName and take the first change set of that name: with
    # the strategies deploying in parallel, each CDK CLI polled another stack's change set.
    # For a name the stack does not have, DescribeChangeSet answers ChangeSetNotFoundException
    # and DeleteChangeSet succeeds, as in AWS: a redeploy's CDK deletes its old
    # `cdk-deploy-change-set` unchecked and waits for exactly that answer (moto found another
    # stack's change set of that name, and the CLI waited forever).
    def by_stack(action):
        def handler(self):
            backend = self.cloudformation_backend
            name, stack = self._get_param("ChangeSetName"), self._get_param("StackName")
            if stack and name not in backend.change_sets:
                found = [
                    arn
                    for arn, candidate in backend.change_sets.items()
                    if candidate.change_set_name == name and stack in (candidate.stack_name, candidate.stack_id)
                ]
                if not found and action == "delete":
                    return EmptyResult()
                if not found:
                    raise ChangeSetNotFound(name)
                name = found[-1]
            if action == "describe":
                return ActionResult(backend.describe_change_set(change_set_name=name))
            backend.delete_change_set(change_set_name=name)
            return EmptyResult()

        return handler

    CloudFormationResponse.describe_change_set = by_stack("describe")
    CloudFormationResponse.delete_change_set = by_stack("delete")

    # 2c. A parameter passed as UsePreviousValue (CDK does so for every unchanged one on a
    # redeploy) is the value given before: for an AWS::SSM::Parameter::Value<...> parameter,
    # the parameter's name, resolved again. moto's CreateChangeSet took the resolved value and
    # looked it up in SSM as a name ("Unable to fetch parameters [<the secret>]").
    create_change_set = CloudFormationResponse.create_change_set

    def create_change_set_with_previous_inputs(self):
        given = self._get_param("Parameters", [])
        if self._get_param("ChangeSetType", "CREATE") == "UPDATE" and any(p.get("UsePreviousValue") for p in given):
            before = self.cloudformation_backend.get_stack(self._get_param("StackName")).parameters
            # A parameter not given before had its default, which applies again when left out.
            rewritten = [
                {"ParameterKey": p["ParameterKey"], "ParameterValue": before[p["ParameterKey"]]}
                if p.get("UsePreviousValue")
                else p
                for p in given
                if not p.get("UsePreviousValue") or p["ParameterKey"] in before
            ]
            get_param = self._get_param
            self._get_param = lambda name, if_none=None: rewritten if name == "Parameters" else get_param(name, if_none)
        return create_change_set(self)

    CloudFormationResponse.create_change_set = create_change_set_with_previous_inputs

    # 3. Resources a change set adds: DependsOn before the dependent.
    build_resource_diff = parsing.ResourceMap.build_resource_diff

    def diff_in_dependency_order(self, other_template, parameters=None):
        diff = build_resource_diff(self, other_template, parameters)
        diff["Add"] = _depends_on_order(other_template["Resources"], diff["Add"])
        # 15. A resource the template leaves as it was, but which refers to an SSM parameter
        # type whose value in Parameter Store changed, is modified.
        changed = _ssm_values_changed(self, other_template, parameters)
        old = self._resource_json_map
        for name, resource in other_template["Resources"].items():
            unchanged = name in old and resource == old[name] and name not in diff["Modify"]
            if unchanged and changed.intersection(parsing.get_references_from_template(resource)):
                diff["Modify"].append(name)
        return diff

    parsing.ResourceMap.build_resource_diff = diff_in_dependency_order

    # 15, continued: moto fails a change set of the stack's own template and parameters ("didn't
    # contain changes") without looking at its changes; one with changes is ready to execute.
    create_change_set_in_backend = CloudFormationBackend.create_change_set

    def create_change_set_with_changes(self, *args, **kwargs):
        change_set_id, stack_id = create_change_set_in_backend(self, *args, **kwargs)
        made = self.change_sets[change_set_id]
        if made.status == "FAILED" and made.changes:
            made.status, made.execution_status, made.status_reason = "CREATE_COMPLETE", "AVAILABLE", None
        return change_set_id, stack_id

    CloudFormationBackend.create_change_set = create_change_set_with_changes

    # 4. The SAM transform, where moto parses a stack's or a change set's template: the
    # processed template is what moto runs, the original text stays what GetTemplate returns
    # (as in AWS; sam delete finds its uploaded <md5>.template by it). A Stack parses before
    # it has its parameters and region (Stack.__init__), hence the stack id and getattr.
    for cls in (Stack, ChangeSet):
        parse_template = cls._parse_template

        def parse_and_transform(self, _parse_template=parse_template):
            _parse_template(self)
            stack = self if isinstance(self, Stack) else self.stack
            _sam_transform(self, getattr(self, "parameters", None), stack.account_id, stack.stack_id.split(":")[3])

        cls._parse_template = parse_and_transform
    # "Nothing changed" compares what was sent, not the processed template (as in AWS).
    Stack.has_template = lambda self, other: self.parse_template(self.template) == self.parse_template(other)

    # 5. A REST API's OpenAPI Body (SAM's AWS::Serverless::Api).
    create_rest_api = RestAPI.create_from_cloudformation_json.__func__

    def create_rest_api_with_body(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        api = create_rest_api(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        body = cloudformation_json["Properties"].get("Body")
        if body:
            backend = apigateway_backends[account_id][region_name]
            backend.put_rest_api(api.id, body, fail_on_warnings=False, mode="overwrite")
        return api

    RestAPI.create_from_cloudformation_json = classmethod(create_rest_api_with_body)

    def update_rest_api(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        props = cloudformation_json["Properties"]
        if props.get("Body"):
            backend = apigateway_backends[account_id][region_name]
            backend.put_rest_api(original_resource.id, props["Body"], fail_on_warnings=False, mode="overwrite")
        original_resource.name = props.get("Name", original_resource.name)
        original_resource.description = props.get("Description", original_resource.description)
        return original_resource

    RestAPI.update_from_cloudformation_json = classmethod(update_rest_api)

    # Every property of AWS::ApiGateway::Resource is "Update requires: Replacement"
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-resource.html).
    def update_resource(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        props = cloudformation_json["Properties"]
        if props["PathPart"] == original_resource.path_part and props["RestApiId"] == original_resource.api_id and props["ParentId"] in (original_resource.parent_id, original_resource.api_id):
            return original_resource
        new = Resource.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        # Its methods name it by Ref: their ResourceId changes, which replaces each on the new
        # resource in AWS; moto updates only what the template text changed, so they move here.
        new.resource_methods = original_resource.resource_methods
        backend = apigateway_backends[account_id][region_name]
        backend.apis[original_resource.api_id].resources.pop(original_resource.id, None)
        return new

    Resource.update_from_cloudformation_json = classmethod(update_resource)

    # A method moved to another resource or API is replaced, any other change made in place
    # (aws-resource-apigateway-method.html); either way it ends as its properties say, on the
    # resource they name, and the resource it left has none.
    def update_method(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        backend = apigateway_backends[account_id][region_name]
        for api in backend.apis.values():
            for resource in api.resources.values():
                for verb, method in list(resource.resource_methods.items()):
                    if method is original_resource:
                        del resource.resource_methods[verb]
        return Method.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    Method.update_from_cloudformation_json = classmethod(update_method)

    # 6. SSM-typed parameters that do not resolve.
    parse_ssm_parameter = parsing.ResourceMap.parse_ssm_parameter

    def parse_ssm_parameter_or_fail(self, value, value_type):
        try:
            return parse_ssm_parameter(self, value, value_type)
        except Exception as error:
            raise ValidationError(
                message=f"Unable to fetch parameters [{value}] from parameter store for this account."
            ) from error

    parsing.ResourceMap.parse_ssm_parameter = parse_ssm_parameter_or_fail

    # 7. AWS::SSM::Parameter's Tags is a map in CloudFormation (CDK tags every parameter);
    # moto's Parameter.create_from_cloudformation_json hands it to put_parameter, which wants
    # the API's [{Key, Value}] list (TypeError otherwise).
    # (update_from_cloudformation_json calls create_from_cloudformation_json.)
    create_parameter = SsmParameter.create_from_cloudformation_json.__func__

    def create_parameter_with_tag_list(cls, resource_name, cloudformation_json, *args, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        if isinstance(properties.get("Tags"), dict):
            properties["Tags"] = [{"Key": k, "Value": v} for k, v in properties["Tags"].items()]
        return create_parameter(cls, resource_name, cloudformation_json, *args, **kwargs)

    SsmParameter.create_from_cloudformation_json = classmethod(create_parameter_with_tag_list)

    # 8. moto's API Gateway Deployment model has no physical_resource_id, so Ref returns the
    # Python object (a Stage's DeploymentId then breaks GetStages); RestAPI has no delete, so
    # the API outlived its stack.
    Deployment.physical_resource_id = property(lambda self: self.id)
    RestAPI.delete = lambda self, account_id, region_name: apigateway_backends[account_id][region_name].delete_rest_api(self.id)

    # 9. Stack deletion that AWS refuses. moto's FakeBucket.delete_from_cloudformation_json
    # leaves a non-empty bucket behind and reports success (S3Backend.delete_bucket returns
    # None); AWS fails the stack (DELETE_FAILED), which is what a destroy that forgot to empty
    # the web app bucket must see. And when a resource fails, moto's delete_stack has already
    # dropped the stack: it is put back, DELETE_FAILED, so the CLIs report it.
    def delete_bucket_or_fail(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = s3_backends[account_id][get_partition(region_name)]
        if backend.get_bucket(resource_name).keys:
            raise BucketNotEmpty(resource_name)
        backend.delete_bucket(resource_name)

    FakeBucket.delete_from_cloudformation_json = classmethod(delete_bucket_or_fail)
    delete_stack = CloudFormationBackend.delete_stack

    def delete_stack_or_fail(self, name_or_stack_id):
        stacks = [s for s in self.stacks.values() if name_or_stack_id in (s.name, s.stack_id)]
        try:
            delete_stack(self, name_or_stack_id)
        except Exception as error:
            LOG.warning("delete of %s failed: %s", name_or_stack_id, error)
            for stack in stacks:
                self.deleted_stacks.pop(stack.stack_id, None)
                self.stacks[stack.stack_id] = stack
                stack._add_stack_event("DELETE_FAILED", resource_status_reason=f"{type(error).__name__}: {error}")
                stack.status = "DELETE_FAILED"

    CloudFormationBackend.delete_stack = delete_stack_or_fail

    # 10. One request at a time. moto's backends are plain dicts that its handlers iterate and
    # change without locks; the strategies' parallel deploys (three CLIs polling at once) are
    # the only concurrency here, and each request is short.
    dispatch = DomainDispatcherApplication.__call__
    one_at_a_time = threading.Lock()

    def dispatch_serialized(self, environ, start_response):
        answer = _preflight_answer(environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", ""))
        if answer is not None:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(answer).encode()]
        with one_at_a_time:
            # 14: the host the clients reach this server by, for the code locations it answers.
            _HOST[0] = environ.get("HTTP_HOST", _HOST[0])
            if environ.get("PATH_INFO", "").startswith(_CODE_PATH):
                return _deployed_package(environ, start_response)
            return dispatch(self, environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch_serialized

    # 12. A role's inline policies (AWS::IAM::Role Policies) are kept as the dict the template
    # gave, and GetRolePolicy answered its Python repr, which no client reads as a policy
    # (AWS answers the JSON document): kept as JSON.
    put_policy = Role.put_policy

    def put_policy_as_json(self, policy_name, policy_json):
        if not isinstance(policy_json, str):
            policy_json = json.dumps(policy_json)
        return put_policy(self, policy_name, policy_json)

    Role.put_policy = put_policy_as_json

    # 13. A role's update keeps what the template says of it: moto's
    # Role.update_from_cloudformation_json changes only the description, so a redeploy that
    # narrowed or widened an inline policy (Policies) or the trust policy left the old one.
    update_role = Role.update_from_cloudformation_json.__func__

    def update_role_with_policies(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        role = update_role(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        properties = cloudformation_json["Properties"]
        wanted = {p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies", [])}
        role.policies = {}
        for name, document in wanted.items():
            role.put_policy(name, document)
        if "AssumeRolePolicyDocument" in properties:
            trust = properties["AssumeRolePolicyDocument"]
            role.assume_role_policy_document = trust if isinstance(trust, str) else json.dumps(trust)
        return role

    Role.update_from_cloudformation_json = classmethod(update_role_with_policies)

    # 14. GetFunction answers where to download the deployed package: "a presigned URL that you
    # can use to download the deployment package", valid for 10 minutes (Lambda API Reference,
    # FunctionCodeLocation: https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCodeLocation.html).
    # moto's names AWS's own bucket; this server serves the package instead (_deployed_package).
    get_code = LambdaFunction.get_code

    def get_code_here(self):
        answer = get_code(self)
        if "Location" in answer.get("Code", {}) and self.code_bytes:
            answer["Code"]["Location"] = f"http://{_HOST[0]}{_CODE_PATH}{self.account_id}/{self.region}/{self.function_name}"
        return answer

    LambdaFunction.get_code = get_code_here

    # 16. An integration's responseTransferMode ("Stream the integration response for your
    # proxy integrations in API Gateway":
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html).
    # moto's Integration has no such field: the stack's ways in set it after moto's
    # put_integration, and the answer carries it when one was given (none: AWS's default,
    # BUFFERED).
    to_json = Integration.to_json

    def to_json_with_mode(self):
        answer = to_json(self)
        if getattr(self, "response_transfer_mode", None):
            answer["responseTransferMode"] = self.response_transfer_mode
        return answer

    Integration.to_json = to_json_with_mode
    put_integration = APIGatewayBackend.put_integration

    def put_integration_with_mode(self, *args, response_transfer_mode=None, **kwargs):
        integration = put_integration(self, *args, **kwargs)
        integration.response_transfer_mode = response_transfer_mode
        return integration

    APIGatewayBackend.put_integration = put_integration_with_mode
    # An OpenAPI body's x-amazon-apigateway-integration (put_rest_api, import_rest_api). Its
    # `type` may be lowercase (SAM writes aws_proxy); GetIntegration answers one of HTTP, AWS,
    # MOCK, HTTP_PROXY, AWS_PROXY (https://docs.aws.amazon.com/apigateway/latest/api/API_Integration.html).
    integration_args = APIGatewayBackend._build_integration_args

    def integration_args_with_mode(self, integration):
        args = integration_args(self, integration)
        kind = args.get("integration_type")
        return {**args, "integration_type": kind.upper() if kind else kind, "response_transfer_mode": integration.get("responseTransferMode")}

    APIGatewayBackend._build_integration_args = integration_args_with_mode
    # AWS::ApiGateway::Method's Integration.ResponseTransferMode (the stack updates of 5. make
    # a changed method through this too).
    create_method = Method.create_from_cloudformation_json.__func__

    def create_method_with_mode(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        method = create_method(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        if method.method_integration is not None:
            method.method_integration.response_transfer_mode = cloudformation_json["Properties"]["Integration"].get("ResponseTransferMode")
        return method

    Method.create_from_cloudformation_json = classmethod(create_method_with_mode)
    _INSTALLED.append(sorted(missing))
    return _INSTALLED[0]


def _ssm_values_changed(resource_map, template, parameters):
    """15. The template's Systems Manager parameter types whose value in Parameter Store is not
    the one the stack resolved: on an update CloudFormation "uses whatever values exist in
    Parameter Store at the time the operation is run" ("Specify existing resources at runtime
    with CloudFormation-supplied parameter types":
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html),
    and the CDK CLI never skips a stack that has one; moto compares only the names given."""
    changed = set()
    for name, slot in template.get("Parameters", {}).items():
        kind = slot.get("Type", "")
        if not kind.startswith("AWS::SSM::Parameter::Value<") or name not in resource_map.resolved_parameters:
            continue
        key = (parameters or {}).get(name) or resource_map.input_parameters.get(name) or slot.get("Default")
        try:
            now = resource_map.parse_ssm_parameter(key, kind)
        except Exception:  # noqa: BLE001 - a parameter gone fails the update where moto resolves it (6.)
            continue
        if now != resource_map.resolved_parameters[name]:
            changed.add(name)
    return changed


# 14. Where the deployed packages are served, and the host (HTTP Host) this server was last
# reached by: the code locations it answers name it, as a presigned URL names S3.
_CODE_PATH = "/_standin/lambda-code/"
_HOST = ["localhost:5000"]


def _deployed_package(environ, start_response):
    """14. GET /_standin/lambda-code/<account>/<region>/<function>: the zip the function was
    deployed with, as its presigned URL would serve it (no credentials: the URL is the grant)."""
    try:
        account, region, name = environ["PATH_INFO"][len(_CODE_PATH) :].split("/")
        package = lambda_backends[account][region].get_function(name).code_bytes
    except Exception as error:  # noqa: BLE001 - any unknown function is S3's NoSuchKey
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [f"NoSuchKey: no deployed package at {environ['PATH_INFO']} ({type(error).__name__})".encode()]
    start_response("200 OK", [("Content-Type", "application/zip"), ("Content-Length", str(len(package)))])
    return [package]


def _preflight_answer(method, path):
    """11. The two reads of `make deploy-all`'s preflight (infra/preflight.py) that moto lacks,
    answered as a fresh account with model access would: Lambda's GetAccountSettings (the
    default 1,000 concurrent executions, none reserved) and Bedrock's
    GetFoundationModelAvailability. Their failing answers are the preflight's own tests."""
    if method != "GET":
        return None
    if path.rstrip("/") == "/2016-08-19/account-settings":
        return {
            "AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000},
            "AccountUsage": {"FunctionCount": 0, "TotalCodeSize": 0},
        }
    if path.startswith("/foundation-model-availability/"):
        return {
            "modelId": path.rsplit("/", 1)[1],
            "agreementAvailability": {"status": "AVAILABLE"},
            "authorizationStatus": "AUTHORIZED",
            "entitlementAvailability": "AVAILABLE",
            "regionAvailability": "AVAILABLE",
        }
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("STANDIN_LOG", "WARNING"))
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # metrics and feature-toggle chatter
    # samtranslator asks boto3 for a region even when given AWS::Region.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"ready: http://localhost:{args.port}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
