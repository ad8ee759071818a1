"""The stand-in keeps what a deployed stage's calls are authorized by, as AWS returns it, so that
the project's `make check-access` (infra/access.py) evaluates the stage's real policies: a
topic's policy (moto skips AWS::SNS::TopicPolicy), a function's resource policy in the shape
Lambda's GetPolicy gives (moto's AWS::Lambda::Permission keeps CloudFormation's properties as
statement keys), an alarm with its actions (moto has no AWS::CloudWatch::Alarm), and a role's
inline policies.

    python -m unittest discover -s tests/standin      (the repo's `make check` runs it)
"""

import json
import logging
import unittest

from genai_standin import local

logging.getLogger("werkzeug").setLevel(logging.ERROR)

# Not test_updates.py's region: both modules share moto's backends when run together.
REGION = "eu-central-1"
ACCOUNT = "123456789012"  # moto's
DISTRIBUTION = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE"
ALARMS = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:app-dev-*"


def stack(topic_allow=True, url_permission=True, ssm_resource="*"):
    deny = {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": {"Ref": "Topic"}, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    allow = {
        "Sid": "StageAlarmsPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": "Topic"},
        "Condition": {"ArnLike": {"aws:SourceArn": ALARMS}},
    }
    resources = {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "app-dev-alerts"}},
        "TopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": {"Version": "2012-10-17", "Statement": [deny] + ([allow] if topic_allow else [])}},
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "Policies": [
                    {
                        "PolicyName": "service",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParametersByPath", "Resource": ssm_resource}]},
                    }
                ],
            },
        },
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "app-dev-chat",
                "Runtime": "provided.al2023",
                "Handler": "bootstrap",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"S3Bucket": "policies-code", "S3Key": "fn.zip"},
            },
        },
        "Invoke": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": "Fn"},
                "Principal": "cloudfront.amazonaws.com",
                "SourceArn": DISTRIBUTION,
                "InvokedViaFunctionUrl": True,
            },
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "app-dev-chat-errors",
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "Fn"}}],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "AlarmActions": [{"Ref": "Topic"}],
            },
        },
    }
    if url_permission:
        resources["InvokeUrl"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunctionUrl",
                "FunctionName": {"Ref": "Fn"},
                "Principal": "cloudfront.amazonaws.com",
                "SourceArn": DISTRIBUTION,
                "FunctionUrlAuthType": "AWS_IAM",
            },
        }
    return json.dumps({"Resources": resources})


class Policies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto, session, endpoint = local.start(REGION, "policies-code")
        cls.client = staticmethod(lambda name: session.client(name, endpoint_url=endpoint))
        cls.cfn = cls.client("cloudformation")
        cls.cfn.create_stack(StackName="policies", TemplateBody=stack(), Capabilities=["CAPABILITY_IAM"])
        status = cls.cfn.describe_stacks(StackName="policies")["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE", status

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def topic_policy(self):
        (topic,) = [t["TopicArn"] for t in self.client("sns").list_topics()["Topics"] if t["TopicArn"].endswith(":app-dev-alerts")]
        return json.loads(self.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])

    def function_policy(self):
        return json.loads(self.client("lambda").get_policy(FunctionName="app-dev-chat")["Policy"])

    def test_a_topic_keeps_the_policy_its_stack_gave_it(self):
        statements = self.topic_policy()["Statement"]
        self.assertEqual(["Deny", "Allow"], [s["Effect"] for s in statements])
        self.assertEqual({"ArnLike": {"aws:SourceArn": ALARMS}}, statements[1]["Condition"])

    def test_a_permission_is_the_statement_lambda_writes(self):
        statements = {s["Action"]: s for s in self.function_policy()["Statement"]}
        function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:app-dev-chat"
        invoke = statements["lambda:InvokeFunction"]
        self.assertEqual({"Service": "cloudfront.amazonaws.com"}, invoke["Principal"])
        self.assertEqual(function, invoke["Resource"])
        self.assertEqual(
            {"ArnLike": {"AWS:SourceArn": DISTRIBUTION}, "Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
            invoke["Condition"],
        )
        self.assertEqual(
            {"ArnLike": {"AWS:SourceArn": DISTRIBUTION}, "StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
            statements["lambda:InvokeFunctionUrl"]["Condition"],
        )
        self.assertFalse({"SourceArn", "FunctionName", "FunctionUrlAuthType"} & set(invoke))

    def test_an_alarm_keeps_its_actions(self):
        (alarm,) = self.client("cloudwatch").describe_alarms(AlarmNames=["app-dev-chat-errors"])["MetricAlarms"]
        self.assertEqual(f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:app-dev-chat-errors", alarm["AlarmArn"])
        self.assertTrue(alarm["AlarmActions"][0].endswith(":app-dev-alerts"))

    def test_a_role_keeps_its_inline_policies(self):
        roles = [r["RoleName"] for r in self.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("policies-")]
        iam = self.client("iam")
        names = [(role, n) for role in roles for n in iam.list_role_policies(RoleName=role)["PolicyNames"]]
        self.assertEqual(["service"], [n for _, n in names])
        # As JSON, which boto3 reads back as a document (not a Python repr, a string to it).
        document = iam.get_role_policy(RoleName=names[0][0], PolicyName="service")["PolicyDocument"]
        self.assertEqual("ssm:GetParametersByPath", document["Statement"][0]["Action"])

    def test_an_update_changes_the_policies_and_drops_a_removed_permission(self):
        narrowed = "arn:aws:ssm:eu-central-1:123456789012:parameter/app/dev/config"
        self.cfn.update_stack(StackName="policies", TemplateBody=stack(topic_allow=False, url_permission=False, ssm_resource=narrowed), Capabilities=["CAPABILITY_IAM"])
        try:
            self.assertEqual(["Deny"], [s["Effect"] for s in self.topic_policy()["Statement"]])
            self.assertEqual(["lambda:InvokeFunction"], [s["Action"] for s in self.function_policy()["Statement"]])
            iam = self.client("iam")
            (role,) = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("policies-")]
            document = iam.get_role_policy(RoleName=role, PolicyName="service")["PolicyDocument"]
            self.assertEqual(narrowed, document["Statement"][0]["Resource"])
        finally:
            self.cfn.update_stack(StackName="policies", TemplateBody=stack(), Capabilities=["CAPABILITY_IAM"])


if __name__ == "__main__":
    unittest.main()
