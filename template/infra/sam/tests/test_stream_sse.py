"""What the Server-Sent Events strategy's templates (stream-sse.yaml, cdn/stream-sse.yaml) must
hold, as CloudFormation sees them (tests/transform.py); the checks every strategy shares are in
test_templates.py."""

import unittest

from test_templates import cdn, distribution, gateway_alarm, origins_of, requires_origin_secret, resources, templates

SERVICE = "stream-sse"


class StreamSse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = templates()[SERVICE]
        cls.cdn = templates()["cdn"]

    def test_function_url_is_aws_iam_and_response_stream(self):
        (url,) = resources(self.template, "AWS::Lambda::Url")
        self.assertEqual(url["Properties"]["AuthType"], "AWS_IAM")
        self.assertEqual(url["Properties"]["InvokeMode"], "RESPONSE_STREAM")

    def test_function_url_errors_alarm(self):
        self.assertEqual(gateway_alarm(self.template), "Url5xxCount")

    def test_the_function_url_takes_what_cloudfront_signed_no_origin_secret(self):
        self.assertFalse(requires_origin_secret(SERVICE))

    def test_cloudfront_may_invoke_the_function_url_only_from_this_distribution(self):
        permissions = [
            p for p in resources(self.cdn, "AWS::Lambda::Permission") if p["Properties"]["FunctionName"] == {"Ref": "SseFunctionArn"}
        ]
        self.assertEqual(sorted(p["Properties"]["Action"] for p in permissions), ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"])
        for permission in permissions:
            self.assertEqual(permission["Properties"]["Principal"], "cloudfront.amazonaws.com")
            self.assertIn("distribution/${Distribution}", permission["Properties"]["SourceArn"]["Fn::Sub"])
        # The function the stack published, not its URL.
        (published,) = [
            r["Properties"]["Name"]["Fn::Sub"].split("/deploy/")[1]
            for r in resources(self.template, "AWS::SSM::Parameter")
            if r["Properties"]["Value"] == {"Fn::GetAtt": ["Function", "Arn"]}
        ]
        self.assertEqual(cdn.fragments()[SERVICE]["Published"]["SseFunctionArn"], published)

    def test_the_cdn_streams_uncompressed_through_oac_with_no_router(self):
        config = distribution(self.cdn)
        (origin,) = [o for o in config["Origins"] if o["Id"] in origins_of(SERVICE)]
        access = self.cdn["Resources"][origin["OriginAccessControlId"]["Fn::GetAtt"][0]]
        self.assertEqual(access["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"], "lambda")
        behaviors = [b for b in config["CacheBehaviors"] if b["TargetOriginId"] == origin["Id"]]
        self.assertEqual(sorted(b["PathPattern"] for b in behaviors), ["/sse", "/sse/*"])
        for behavior in behaviors:
            # Compression would buffer the stream; the Function URL answers on any path.
            self.assertFalse(behavior["Compress"])
            self.assertNotIn("FunctionAssociations", behavior)


if __name__ == "__main__":
    unittest.main()
