"""infra/policy.py against the cases of AWS's "Policy evaluation logic"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html) and
"Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
pages, and the policies this project's stacks deploy."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from policy import Request, Unsupported, condition_holds, decide  # noqa: E402

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-dev-chat-Role"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket/report.txt"


def role_request(action="s3:GetObject", resource=BUCKET, **context):
    return Request({"AWS": ROLE}, action, resource, context, account=ACCOUNT)


def allow(action="*", resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="*", resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def condition(*blocks):
    """A Condition element from (operator, key, value) triples; written so rather than as nested
    literals because the project's template renderer refuses a file holding two closing braces."""
    found = {}
    for operator, key, value in blocks:
        found.setdefault(operator, {})[key] = value
    return found


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


class SameAccount(unittest.TestCase):
    """"How AWS enforcement code logic evaluates requests": deny by default, an explicit Deny
    wins, and within one account the identity and resource policies' Allows are a union."""

    def test_nothing_allows_is_an_implicit_deny(self):
        decision = decide(role_request(), identity=[("none", policy())])
        self.assertFalse(decision.allowed)
        self.assertIsNone(decision.policy)
        self.assertIn("implicit deny", decision.because())

    def test_the_identity_policy_alone_allows(self):
        decision = decide(role_request(), identity=[("service", policy(allow("s3:GetObject", BUCKET)))])
        self.assertTrue(decision.allowed)
        self.assertEqual(("service", "#1"), (decision.policy, decision.statement))

    def test_the_resource_policy_alone_allows_a_principal_it_names(self):
        resource = policy(allow("s3:GetObject", BUCKET, Principal={"AWS": ROLE}, Sid="Reader"))
        decision = decide(role_request(), identity=[], resource=[("bucket", resource)])
        self.assertTrue(decision.allowed)
        self.assertEqual(("bucket", "Reader"), (decision.policy, decision.statement))

    def test_a_resource_policy_naming_another_principal_allows_nothing(self):
        other = policy(allow("s3:GetObject", BUCKET, Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}))
        self.assertFalse(decide(role_request(), resource=[("bucket", other)]).allowed)

    def test_naming_the_account_delegates_to_its_identity_policies(self):
        account = policy(allow("s3:GetObject", BUCKET, Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
        self.assertFalse(decide(role_request(), resource=[("bucket", account)]).allowed)

    def test_an_explicit_deny_in_either_beats_an_allow_in_the_other(self):
        allowed = [("service", policy(allow()))]
        denied = policy(deny("s3:*", Principal="*", Sid="NoReads"))
        decision = decide(role_request(), identity=allowed, resource=[("bucket", denied)])
        self.assertFalse(decision.allowed)
        self.assertEqual(("bucket", "NoReads"), (decision.policy, decision.statement))
        self.assertIn("explicitly denies", decision.because())
        decision = decide(role_request(), identity=[("mixed", policy(allow(), deny("s3:GetObject")))])
        self.assertEqual(("mixed", "#2", False), (decision.policy, decision.statement, decision.allowed))


class Elements(unittest.TestCase):
    def test_actions_match_case_insensitively_with_wildcards(self):
        for pattern in ("s3:GetObject", "S3:getobject", "s3:Get*", "s3:*", "*", "s3:GetObjec?"):
            self.assertTrue(decide(role_request(), [("p", policy(allow(pattern)))]).allowed, pattern)
        for pattern in ("s3:Put*", "s3:GetObjec", "s3:GetObject?", "sqs:*"):
            self.assertFalse(decide(role_request(), [("p", policy(allow(pattern)))]).allowed, pattern)

    def test_resources_match_case_sensitively_with_wildcards(self):
        for pattern in (BUCKET, "arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::*/report.???"):
            self.assertTrue(decide(role_request(), [("p", policy(allow("s3:*", pattern)))]).allowed, pattern)
        for pattern in ("arn:aws:s3:::AMZN-S3-DEMO-BUCKET/*", "arn:aws:s3:::amzn-s3-demo-bucket"):
            self.assertFalse(decide(role_request(), [("p", policy(allow("s3:*", pattern)))]).allowed, pattern)

    def test_not_action_allows_everything_else(self):
        # The page's example: everything but IAM.
        document = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
        self.assertTrue(decide(role_request(), [("p", document)]).allowed)
        self.assertFalse(decide(role_request("iam:CreateUser", "*"), [("p", document)]).allowed)

    def test_not_action_in_a_deny_denies_everything_else(self):
        document = policy(allow(), {"Effect": "Deny", "NotAction": ["s3:Get*", "s3:List*"], "Resource": "*"})
        self.assertTrue(decide(role_request(), [("p", document)]).allowed)
        self.assertFalse(decide(role_request("s3:PutObject"), [("p", document)]).allowed)

    def test_not_resource(self):
        document = policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"})
        self.assertTrue(decide(role_request(), [("p", document)]).allowed)
        self.assertFalse(decide(role_request(resource="arn:aws:s3:::secret/key"), [("p", document)]).allowed)

    def test_service_principals(self):
        request = Request({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish", "arn:aws:sns:us-west-2:1:t")
        for principal in ({"Service": "cloudwatch.amazonaws.com"}, {"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]}, "*", {"AWS": "*"}):
            self.assertTrue(decide(request, resource=[("topic", policy(allow(Principal=principal)))]).allowed, principal)
        for principal in ({"Service": "events.amazonaws.com"}, {"AWS": ROLE}):
            self.assertFalse(decide(request, resource=[("topic", policy(allow(Principal=principal)))]).allowed, principal)
        # NotPrincipal: everyone but the one named.
        self.assertFalse(decide(request, resource=[("t", policy(allow(NotPrincipal={"Service": "cloudwatch.amazonaws.com"})))]).allowed)

    def test_policy_variables(self):
        document = policy(allow("s3:*", "arn:aws:s3:::home/${aws:username}/*"))
        request = role_request(resource="arn:aws:s3:::home/ana/notes", **{"aws:username": "ana"})
        self.assertTrue(decide(request, [("p", document)]).allowed)
        self.assertFalse(decide(role_request(resource="arn:aws:s3:::home/ana/notes"), [("p", document)]).allowed)


class Conditions(unittest.TestCase):
    def holds(self, operator, key, values, **context):
        return condition_holds(operator, key, values, {k.lower(): v for k, v in context.items()})

    def test_string_operators(self):
        self.assertTrue(self.holds("StringEquals", "aws:SourceAccount", ACCOUNT, **{"aws:SourceAccount": ACCOUNT}))
        self.assertFalse(self.holds("StringEquals", "aws:SourceAccount", "444455556666", **{"aws:SourceAccount": ACCOUNT}))
        self.assertTrue(self.holds("StringEquals", "aws:SourceAccount", ["444455556666", ACCOUNT], **{"aws:SourceAccount": ACCOUNT}))
        self.assertFalse(self.holds("StringEquals", "k", "ABC", k="abc"))
        self.assertTrue(self.holds("StringEqualsIgnoreCase", "k", "ABC", k="abc"))
        self.assertTrue(self.holds("StringNotEquals", "k", ["x", "y"], k="z"))
        self.assertFalse(self.holds("StringNotEquals", "k", ["x", "z"], k="z"))
        self.assertTrue(self.holds("StringLike", "k", "home/*/x?", k="home/ana/x1"))
        self.assertTrue(self.holds("StringNotLike", "k", "home/*", k="work/ana"))

    def test_condition_keys_are_case_insensitive(self):
        self.assertTrue(self.holds("StringEquals", "AWS:SourceAccount", ACCOUNT, **{"aws:sourceaccount": ACCOUNT}))

    def test_a_missing_key_fails_a_condition_but_a_negated_one(self):
        # "If the key that you specify in a policy condition is not present in the request
        # context, the values do not match and the condition is false. If the policy condition
        # requires that the key is not matched, such as StringNotLike or ArnNotLike, and the
        # right key is not present, the condition is true."
        self.assertFalse(self.holds("StringEquals", "aws:SourceAccount", ACCOUNT))
        self.assertFalse(self.holds("ArnLike", "aws:SourceArn", "arn:aws:cloudwatch:*:*:alarm:*"))
        self.assertTrue(self.holds("StringNotEquals", "aws:SourceAccount", ACCOUNT))
        self.assertTrue(self.holds("ArnNotLike", "aws:SourceArn", "arn:aws:cloudwatch:*:*:alarm:*"))
        self.assertFalse(self.holds("Bool", "aws:SecureTransport", "false"))

    def test_if_exists(self):
        # "If the policy key is present in the context of the request, process the key as
        # specified in the policy. If the key is not present, evaluate the condition element as true."
        self.assertTrue(self.holds("StringEqualsIfExists", "ec2:InstanceType", "t2.micro"))
        self.assertTrue(self.holds("StringEqualsIfExists", "ec2:InstanceType", "t2.micro", **{"ec2:InstanceType": "t2.micro"}))
        self.assertFalse(self.holds("StringEqualsIfExists", "ec2:InstanceType", "t2.micro", **{"ec2:InstanceType": "m5.large"}))
        self.assertTrue(self.holds("ArnLikeIfExists", "aws:SourceArn", "arn:aws:sns:*:*:*"))

    def test_null(self):
        self.assertTrue(self.holds("Null", "aws:TokenIssueTime", "true"))
        self.assertFalse(self.holds("Null", "aws:TokenIssueTime", "true", **{"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}))
        self.assertTrue(self.holds("Null", "aws:TokenIssueTime", "false", **{"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}))

    def test_bool_numeric_date_ip_binary(self):
        self.assertTrue(self.holds("Bool", "aws:SecureTransport", "false", **{"aws:SecureTransport": "False"}))
        self.assertFalse(self.holds("Bool", "aws:SecureTransport", "false", **{"aws:SecureTransport": "true"}))
        self.assertTrue(self.holds("NumericLessThanEquals", "s3:max-keys", "10", **{"s3:max-keys": "10"}))
        self.assertFalse(self.holds("NumericLessThan", "s3:max-keys", "10", **{"s3:max-keys": "10"}))
        self.assertFalse(self.holds("NumericEquals", "s3:max-keys", "10", **{"s3:max-keys": "ten"}))
        self.assertTrue(self.holds("DateGreaterThan", "aws:CurrentTime", "2026-01-01T00:00:00Z", **{"aws:CurrentTime": "2026-12-06T08:00:00Z"}))
        self.assertTrue(self.holds("DateLessThan", "aws:EpochTime", "1900000000", **{"aws:EpochTime": "1800000000"}))
        self.assertTrue(self.holds("IpAddress", "aws:SourceIp", "203.0.113.0/24", **{"aws:SourceIp": "203.0.113.9"}))
        self.assertTrue(self.holds("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", **{"aws:SourceIp": "198.51.100.1"}))
        self.assertTrue(self.holds("BinaryEquals", "k", "QmluYXJ5", k="QmluYXJ5"))

    def test_arn_operators_match_part_by_part(self):
        alarm = f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:app-dev-chat-errors"
        self.assertTrue(self.holds("ArnLike", "aws:SourceArn", f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:app-dev-*", **{"aws:SourceArn": alarm}))
        self.assertFalse(self.holds("ArnLike", "aws:SourceArn", f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:app-prod-*", **{"aws:SourceArn": alarm}))
        self.assertTrue(self.holds("ArnEquals", "aws:SourceArn", "arn:aws:cloudwatch:*:*:alarm:*", **{"aws:SourceArn": alarm}))
        # A wildcard stays within its part: `*` in the service part cannot swallow the region.
        self.assertFalse(self.holds("ArnLike", "aws:SourceArn", "arn:aws:*:alarm:app-dev-chat-errors", **{"aws:SourceArn": alarm}))
        self.assertTrue(self.holds("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:*:*", **{"aws:SourceArn": alarm}))

    def test_set_operators(self):
        tags = {"aws:TagKeys": ["env", "team"]}
        self.assertTrue(self.holds("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team", "cost"], **tags))
        self.assertFalse(self.holds("ForAllValues:StringEquals", "aws:TagKeys", ["env"], **tags))
        self.assertTrue(self.holds("ForAllValues:StringEquals", "aws:TagKeys", ["env"]))  # no values: all match
        self.assertTrue(self.holds("ForAnyValue:StringEquals", "aws:TagKeys", ["team"], **tags))
        self.assertFalse(self.holds("ForAnyValue:StringEquals", "aws:TagKeys", ["team"]))

    def test_every_block_and_key_must_hold(self):
        document = policy(
            allow(
                "sns:Publish",
                Principal={"Service": "cloudwatch.amazonaws.com"},
                Condition=condition(("StringEquals", "aws:SourceAccount", ACCOUNT), ("ArnLike", "aws:SourceArn", "arn:aws:cloudwatch:*:*:alarm:app-dev-*")),
            )
        )
        topic = f"arn:aws:sns:us-west-2:{ACCOUNT}:app-dev-alerts"
        both = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:app-dev-x"}
        service = {"Service": "cloudwatch.amazonaws.com"}
        self.assertTrue(decide(Request(service, "sns:Publish", topic, both), resource=[("t", document)]).allowed)
        one = {"aws:SourceArn": both["aws:SourceArn"]}
        self.assertFalse(decide(Request(service, "sns:Publish", topic, one), resource=[("t", document)]).allowed)

    def test_an_unknown_operator_is_refused_not_guessed(self):
        with self.assertRaises(Unsupported):
            self.holds("StringSortOf", "k", "v", k="v")


class DeployedPolicies(unittest.TestCase):
    """The statements the stacks deploy (infra/sam/*.yaml, infra/cdk/lib/*.ts), as AWS returns them."""

    TOPIC = f"arn:aws:sns:us-west-2:{ACCOUNT}:app-dev-alerts"
    TOPIC_POLICY = policy(
        {"Sid": "AllowPublishThroughSSLOnly", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": TOPIC, "Condition": condition(("Bool", "aws:SecureTransport", "false"))},
        {
            "Sid": "StageAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": TOPIC,
            "Condition": condition(("StringEquals", "aws:SourceAccount", ACCOUNT), ("ArnLike", "aws:SourceArn", f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:app-dev-*")),
        },
    )

    def alarm(self, name, secure="true"):
        context = {"aws:SourceArn": f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:{name}", "aws:SourceAccount": ACCOUNT, "aws:SecureTransport": secure}
        return Request({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish", self.TOPIC, context)

    def test_the_alerts_topic_takes_the_stages_alarms_only(self):
        self.assertTrue(decide(self.alarm("app-dev-chat-errors"), resource=[("topic", self.TOPIC_POLICY)]).allowed)
        self.assertFalse(decide(self.alarm("app-prod-chat-errors"), resource=[("topic", self.TOPIC_POLICY)]).allowed)
        refused = decide(self.alarm("app-dev-chat-errors", secure="false"), resource=[("topic", self.TOPIC_POLICY)])
        self.assertEqual("AllowPublishThroughSSLOnly", refused.statement)

    def test_a_deny_only_topic_policy_refuses_every_alarm(self):
        deny_only = policy(self.TOPIC_POLICY["Statement"][0])
        self.assertFalse(decide(self.alarm("app-dev-chat-errors"), resource=[("topic", deny_only)]).allowed)

    def test_the_bedrock_grant_through_an_inference_profile(self):
        profile = f"arn:aws:bedrock:us-west-2:{ACCOUNT}:inference-profile/us.amazon.nova-micro-v1:0"
        grant = policy(
            allow("bedrock:InvokeModelWithResponseStream", profile),
            allow(
                "bedrock:InvokeModelWithResponseStream",
                "arn:aws:bedrock:*::foundation-model/amazon.nova-micro-v1:0",
                Condition=condition(("StringEquals", "bedrock:InferenceProfileArn", profile)),
            ),
        )
        via = {"bedrock:InferenceProfileArn": profile}
        action = "bedrock:InvokeModelWithResponseStream"
        for resource in (profile, "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-micro-v1:0"):
            self.assertTrue(decide(Request({"AWS": ROLE}, action, resource, via, ACCOUNT), [("service", grant)]).allowed)
        # Not directly, not another model, not through another profile.
        direct = Request({"AWS": ROLE}, action, "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-micro-v1:0", {}, ACCOUNT)
        self.assertFalse(decide(direct, [("service", grant)]).allowed)
        other = Request({"AWS": ROLE}, action, "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0", via, ACCOUNT)
        self.assertFalse(decide(other, [("service", grant)]).allowed)

    def test_a_function_url_behind_cloudfront(self):
        # What AddPermission writes for the stacks' two OAC permissions (Lambda's GetPolicy).
        function = f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:app-dev-chat"
        distribution = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE"
        statement = lambda action, extra: {  # noqa: E731
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": action,
            "Resource": function,
            "Condition": {"ArnLike": {"AWS:SourceArn": distribution}, **extra},
        }
        document = policy(
            statement("lambda:InvokeFunctionUrl", condition(("StringEquals", "lambda:FunctionUrlAuthType", "AWS_IAM"))),
            statement("lambda:InvokeFunction", condition(("Bool", "lambda:InvokedViaFunctionUrl", "true"))),
        )
        context = {"aws:SourceArn": distribution, "lambda:FunctionUrlAuthType": "AWS_IAM", "lambda:InvokedViaFunctionUrl": "true"}
        for action in ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction"):
            request = Request({"Service": "cloudfront.amazonaws.com"}, action, function, context)
            self.assertTrue(decide(request, resource=[("function", document)]).allowed, action)
        elsewhere = {**context, "aws:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOTHER"}
        request = Request({"Service": "cloudfront.amazonaws.com"}, "lambda:InvokeFunction", function, elsewhere)
        self.assertFalse(decide(request, resource=[("function", document)]).allowed)


if __name__ == "__main__":
    unittest.main()
