#!/usr/bin/env python3
"""The optional AWS WAF web ACL in front of the stage's CDN (`WAF=on`), for both IaC flavors:
one rate-based rule that answers 429 to an IP address past WAF_RATE_LIMIT requests in five
minutes, so one client cannot spend the stage's tokens at CloudFront's pace.

The stage remembers the choice: /<project>/<stage>/deploy/waf/acl-arn holds the web ACL's ARN,
or `none`, and the CDN stack reads it when it deploys. A deploy without WAF keeps what the stage
has, so a later `make deploy-cdn` or `make rotate-origin-secret` never drops the rate limit.

  apply   before the CDN deploys (make deploy-cdn). WAF=on: make or update the web ACL and
          publish its ARN. WAF=off: publish `none`. WAF unset: keep what is published
          (`none` for a new stage).
  prune   after the CDN deployed: delete the web ACL when `none` is published (AWS refuses
          while a distribution uses it, hence after).
  delete  remove the web ACL and the parameter (make destroy-cdn, make destroy).

A web ACL for CloudFront lives in us-east-1 whatever the stage's region ("For Amazon
CloudFront distributions, this is set to US East (N. Virginia)": AWS WAF Developer Guide,
"Resources that you can protect with AWS WAF"), and CloudFormation cannot read a value across
regions: hence an API call here and the ARN published in the stage's own region. PROJECT,
STAGE, OWNER, AWS_REGION, WAF, WAF_RATE_LIMIT and ALLOWED_ORIGINS come from the Makefile.

The 429 carries CORS headers for each origin in ALLOWED_ORIGINS (the deploy model's value: this
deploy's, else the stage's), so a page there reads THROTTLED rather than a network error. The
app's own page calls its own origin through the CDN and needs none. WAF's custom response
headers are static values ("You can specify any header name except for content-type": AWS WAF
Developer Guide, "Custom responses for Block actions",
https://docs.aws.amazon.com/waf/latest/developerguide/customizing-the-response-for-blocked-requests.html),
so one response cannot echo whichever origin asked; and CloudFront's response headers policy
is no help, as it changes the responses "that it serves from the cache and the ones that it
forwards from the origin" (CloudFront Developer Guide,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/modifying-response-headers.html),
while a Block's custom response "take[s] precedence over any response specifications that you
define in your protected resource". Hence, with ALLOWED_ORIGINS, the rate-based rule only
counts and labels ("Rate-based rules label only while rate limiting":
https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-label-add.html), a rule per
allowed origin blocks that origin's labelled requests with its own Access-Control-Allow-Origin,
and a last rule blocks the rest without. Each rule costs $1 a month, so without
ALLOWED_ORIGINS the one rule blocks by itself, as before.
"""

import json
import os
import sys
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError

import project as deploy_model

# Where CloudFront's web ACLs are made and read.
WAF_REGION = "us-east-1"
# AWS WAF's bounds for a rate-based rule's limit per evaluation window ("Rate-based rule
# high-level settings": the lowest is 10).
MIN_LIMIT, MAX_LIMIT = 10, 2_000_000_000


def project():
    return os.environ["PROJECT"], os.environ.get("STAGE", "dev")


def acl_name():
    return "-".join(project()) + "-cdn"


def parameter_name():
    name, stage = project()
    return f"/{name}/{stage}/deploy/waf/acl-arn"


def choice():
    """"on", "off", or None when WAF is not given (keep what the stage has)."""
    value = os.environ.get("WAF", "")
    if value not in ("on", "off", ""):
        sys.exit(f"error: WAF='{value}': say WAF=on or WAF=off (or leave it out to keep the stage's)")
    return value or None


def rate_limit():
    value = os.environ.get("WAF_RATE_LIMIT", "300")
    if not value.isdigit() or not MIN_LIMIT <= int(value) <= MAX_LIMIT:
        sys.exit(f"error: WAF_RATE_LIMIT='{value}' must be a whole number of requests from {MIN_LIMIT} up")
    return int(value)


def allowed_origins(ssm):
    """The origins besides the app's own that get CORS headers on the 429: ALLOWED_ORIGINS of
    this deploy or, not named, the stage's, checked by the deploy model."""
    name, stage = project()
    remembered = None
    if "ALLOWED_ORIGINS" not in os.environ:
        remembered = deploy_model.read_remembered(name, stage, os.environ.get("AWS_REGION"), ssm)
    try:
        return deploy_model.load(os.environ, remembered=remembered or {})["allowedOrigins"]
    except deploy_model.Invalid as error:
        sys.exit(f"error: {error}")


def visibility(metric):
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


# What a blocked request gets: PROTOCOL.md's error body, so the clients show THROTTLED.
THROTTLED = {
    "throttled": {
        "ContentType": "APPLICATION_JSON",
        "Content": json.dumps(
            {
                "error": {
                    "message": "Too many requests from your address: wait a few minutes and try again.",
                    "code": "THROTTLED",
                    "statusCode": 429,
                }
            }
        ),
    }
}


def too_many(origin=None):
    """The 429 with PROTOCOL.md's body; for a page on `origin`, the headers its browser needs to
    let it read the body, as the services send them (crates/genai config.rs)."""
    response = {"ResponseCode": 429, "CustomResponseBodyKey": "throttled"}
    if origin:
        response["ResponseHeaders"] = [
            {"Name": "access-control-allow-origin", "Value": origin},
            {"Name": "vary", "Value": "Origin"},
        ]
    return response


# The label the rate-based rule puts on a request while its address is over the limit.
OVER_LIMIT = "rate-per-ip:over-limit"


def from_origin(origin):
    return {
        "ByteMatchStatement": {
            "FieldToMatch": {"SingleHeader": {"Name": "origin"}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": origin,
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }


PREFLIGHT = {
    "ByteMatchStatement": {
        "FieldToMatch": {"Method": {}},
        "PositionalConstraint": "EXACTLY",
        "SearchString": "OPTIONS",
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
    }
}
LABELLED = {"LabelMatchStatement": {"Scope": "LABEL", "Key": OVER_LIMIT}}


def either(statements):
    return statements[0] if len(statements) == 1 else {"OrStatement": {"Statements": statements}}


def rules(limit, origins=()):
    """Past `limit` requests from one IP address in 300 s, 429 until the rate drops; with
    CORS headers for a page on one of `origins` (see the module's doc)."""
    rate = {"RateBasedStatement": {"Limit": limit, "EvaluationWindowSec": 300, "AggregateKeyType": "IP"}}
    if not origins:
        return [
            {
                "Name": "rate-per-ip",
                "Priority": 0,
                "Statement": rate,
                "Action": {"Block": {"CustomResponse": too_many()}},
                "VisibilityConfig": visibility("rate-per-ip"),
            }
        ]
    counted = {
        "Name": "rate-per-ip",
        "Priority": 0,
        "Statement": rate,
        "Action": {"Count": {}},
        "RuleLabels": [{"Name": OVER_LIMIT}],
        "VisibilityConfig": visibility("rate-per-ip"),
    }
    # A preflight from an allowed origin goes on to the service, which answers it (and spends
    # no tokens): a blocked one would fail the browser's fetch before it reads any 429.
    per_origin = [
        {
            "Name": f"throttled-origin-{i}",
            "Priority": i,
            "Statement": {"AndStatement": {"Statements": [LABELLED, from_origin(o), {"NotStatement": {"Statement": PREFLIGHT}}]}},
            "Action": {"Block": {"CustomResponse": too_many(o)}},
            "VisibilityConfig": visibility(f"throttled-origin-{i}"),
        }
        for i, o in enumerate(origins, start=1)
    ]
    allowed_preflight = {"AndStatement": {"Statements": [PREFLIGHT, either([from_origin(o) for o in origins])]}}
    everyone_else = {
        "Name": "throttled",
        "Priority": len(origins) + 1,
        "Statement": {"AndStatement": {"Statements": [LABELLED, {"NotStatement": {"Statement": allowed_preflight}}]}},
        "Action": {"Block": {"CustomResponse": too_many()}},
        "VisibilityConfig": visibility("throttled"),
    }
    return [counted, *per_origin, everyone_else]


# Transient refusals worth another try, from the WAFV2 API reference: UpdateWebACL and
# DeleteWebACL answer WAFOptimisticLockException when the ACL changed since its lock token was
# read ("Get the resource again, make any changes you need to make to the new copy, and retry
# your operation"), and DeleteWebACL answers WAFAssociatedItemException while a resource still
# uses it, which lasts a while after a CloudFront distribution drops the ACL
# (https://docs.aws.amazon.com/waf/latest/APIReference/API_DeleteWebACL.html).
RETRIED = ("WAFOptimisticLockException", "WAFAssociatedItemException", "WAFUnavailableEntityException")
# About three minutes in all: 2, 4, 8, 16, 30, 30, 30, 30, 30 seconds between attempts.
ATTEMPTS = 10


def retried(call, sleep=time.sleep):
    """`call()` (which reads the ACL's lock token afresh each time), tried again with backoff
    on the refusals above; the last refusal is raised with what it waited for."""
    for attempt in range(ATTEMPTS):
        try:
            return call()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in RETRIED or attempt == ATTEMPTS - 1:
                if code in RETRIED:
                    print(f"WAF: still {code} after {ATTEMPTS} attempts; run the same make target again later.", file=sys.stderr)
                raise
            wait = min(30, 2 ** (attempt + 1))
            print(f"WAF: {code}, trying again in {wait} s", file=sys.stderr)
            sleep(wait)


def find(waf):
    """The stage's web ACL as (id, arn, lock token), or None."""
    request = {"Scope": "CLOUDFRONT", "Limit": 100}
    while True:
        page = waf.list_web_acls(**request)
        for acl in page.get("WebACLs", []):
            if acl["Name"] == acl_name():
                return acl["Id"], acl["ARN"], acl["LockToken"]
        if not page.get("NextMarker"):
            return None
        request["NextMarker"] = page["NextMarker"]


def request(limit, origins=()):
    """The web ACL's specification, as CreateWebACL and UpdateWebACL take it (an update
    replaces all of it)."""
    return {
        "Name": acl_name(),
        "Scope": "CLOUDFRONT",
        "DefaultAction": {"Allow": {}},
        "Rules": rules(limit, origins),
        "VisibilityConfig": visibility(acl_name()),
        "CustomResponseBodies": THROTTLED,
        # AWS allows letters, digits, spaces and +=:#@/-,. only here.
        "Description": "Rate limit per IP address in front of the stage CDN, see infra/waf.py",
    }


def published(ssm):
    """The published ARN, `none`, or None when the stage has published nothing yet."""
    try:
        return ssm.get_parameter(Name=parameter_name())["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None


def publish(ssm, value):
    ssm.put_parameter(Name=parameter_name(), Value=value, Type="String", Overwrite=True)


def current_limit(waf, found):
    """The limit the stage's web ACL has now (its rate-based rule's)."""
    acl_id, _, _ = found
    acl = waf.get_web_acl(Name=acl_name(), Scope="CLOUDFRONT", Id=acl_id)["WebACL"]
    for rule in acl["Rules"]:
        if "RateBasedStatement" in rule["Statement"]:
            return rule["Statement"]["RateBasedStatement"]["Limit"]
    return rate_limit()


def update(waf, limit, origins, sleep):
    def attempt():
        acl_id, _, lock_token = find(waf)
        waf.update_web_acl(**request(limit, origins), Id=acl_id, LockToken=lock_token)

    retried(attempt, sleep)


def apply(waf, ssm, sleep=time.sleep):
    wanted = choice()
    if wanted is None:
        before = published(ssm)
        if before is None:
            publish(ssm, "none")
        found = None if before in (None, "none") else find(waf)
        if found is not None:
            # Its limit stays; the origins of its CORS headers follow ALLOWED_ORIGINS.
            update(waf, current_limit(waf, found), allowed_origins(ssm), sleep)
        print(f"WAF: {'off' if before in (None, 'none') else 'on'}, as before (WAF=on or WAF=off changes it).")
        return
    if wanted == "off":
        publish(ssm, "none")
        print("WAF: off; the CDN deploys without a web ACL.")
        return
    limit = rate_limit()
    origins = allowed_origins(ssm)
    found = find(waf)
    if found is None:
        name, stage = project()
        arn = waf.create_web_acl(
            **request(limit, origins),
            Tags=[
                {"Key": "project", "Value": name},
                {"Key": "stage", "Value": stage},
                {"Key": "Owner", "Value": os.environ.get("OWNER", "unknown")},
            ],
        )["Summary"]["ARN"]
        print(f"WAF web ACL {acl_name()} (us-east-1): made, {limit} requests per IP in 5 minutes.")
    else:
        arn = found[1]
        update(waf, limit, origins, sleep)
        print(f"WAF web ACL {acl_name()} (us-east-1): updated, {limit} requests per IP in 5 minutes.")
    publish(ssm, arn)


def delete_acl(waf, sleep=time.sleep):
    def delete():
        found = find(waf)
        if found is None:
            return False
        acl_id, _, lock_token = found
        waf.delete_web_acl(Name=acl_name(), Scope="CLOUDFRONT", Id=acl_id, LockToken=lock_token)
        return True

    if retried(delete, sleep):
        print(f"WAF web ACL {acl_name()} (us-east-1): deleted.")


def prune(waf, ssm, sleep=time.sleep):
    if published(ssm) in (None, "none"):
        delete_acl(waf, sleep)


def remove(waf, ssm, sleep=time.sleep):
    try:
        ssm.delete_parameter(Name=parameter_name())
    except ssm.exceptions.ParameterNotFound:
        pass
    delete_acl(waf, sleep)


def main():
    commands = {"apply": apply, "prune": prune, "delete": remove}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit("usage: waf.py apply|prune|delete")
    region = os.environ.get("AWS_REGION")
    try:
        commands[sys.argv[1]](boto3.client("wafv2", region_name=WAF_REGION), boto3.client("ssm", region_name=region))
    except (BotoCoreError, ClientError) as e:
        sys.exit(f"error: {e}. Check your AWS credentials and AWS_REGION ({region}).")


if __name__ == "__main__":
    main()
