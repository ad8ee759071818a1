"""Who a deployed stage lets in: its `allowed-origins` parameter, which must be the CDN's URL
followed by the origins given, and its origin secret, which each service's function must hold
as deployed exactly when the service declares `origin-secret` (infra/project.py shows it), and
the web ACL its CDN must use. Prints the checks; exits 1 unless they hold. Run after `make
deploy-all ALLOWED_ORIGINS=... WAF=on` and `make rotate-origin-secret`, which must keep the
origins and the web ACL unasked, and after which the secret holds two values.

    python -m genai_standin.origins PROJECT STAGE ORIGIN...
"""

import sys

import boto3

from .declared import project_model


def main():
    project, stage, *extra = sys.argv[1:]
    ssm = boto3.client("ssm")
    name = f"/{project}/{stage}/config/allowed-origins"
    value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    cdn = ssm.get_parameter(Name=f"/{project}/{stage}/deploy/cdn/url")["Parameter"]["Value"]
    print(f"{name} = {value}")
    ok = value.split(",") == [cdn, *extra]

    secret = ssm.get_parameter(Name=f"/{project}/{stage}/deploy/origin/secret")["Parameter"]["Value"]
    print(f"origin secret: {len(secret.split(','))} value(s)")
    lambda_ = boto3.client("lambda")
    # Each service's own function holds the secret exactly when the service declares it does.
    for service, declared in project_model()["services"].items():
        try:
            config = lambda_.get_function_configuration(FunctionName=f"{project}-{stage}-{service}")
        except lambda_.exceptions.ResourceNotFoundException:
            print(f"{service}: NOT DEPLOYED")
            ok = False
            continue
        held = config.get("Environment", {}).get("Variables", {}).get("ORIGIN_SECRET")
        expected = secret if declared["origin-secret"] else None
        print(f"{service}: ORIGIN_SECRET {'as deployed' if held == expected else 'WRONG'}")
        ok &= held == expected

    # WAF=on: CloudFront uses the web ACL infra/waf.py made in us-east-1 and published.
    acls = boto3.client("wafv2", region_name="us-east-1").list_web_acls(Scope="CLOUDFRONT")["WebACLs"]
    (acl,) = [a for a in acls if a["Name"] == f"{project}-{stage}-cdn"] or [None]
    distribution = ssm.get_parameter(Name=f"/{project}/{stage}/deploy/cdn/distribution-id")["Parameter"]["Value"]
    config = boto3.client("cloudfront").get_distribution_config(Id=distribution)["DistributionConfig"]
    used = acl is not None and config.get("WebACLId") == acl["ARN"]
    print(f"CloudFront {distribution}: web ACL {'as made' if used else 'MISSING'} ({config.get('WebACLId') or 'none'})")
    ok &= used
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
