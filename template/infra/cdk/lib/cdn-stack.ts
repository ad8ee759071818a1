// The one origin: CloudFront in front of a private S3 bucket (the web app) and of every
// strategy present, each on its PROTOCOL.md path. Endpoints come from what the strategy stacks
// published in SSM, read at deploy time.
import { readFileSync } from 'node:fs';
import { Aws, CfnCondition, CfnOutput, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { acknowledgeCheckov, acknowledgeNag } from './acknowledge.js';
import { configPath, deployPath, Project, resourceName, routerRule, type RouterRule } from './project.js';
import { publish } from './publish.js';
import { pathPatterns, Strategy } from './strategy.js';

/**
 * The router's code with the rules of the strategies present filled in, as
 * `prefix:origin-path:exact` words with the stage in each origin path (PROTOCOL.md's paths).
 */
export function routerCode(stage: string, rules: RouterRule[]): string {
  const routes = rules
    .map((r) => [r.prefix, r.originPath.replace('{stage}', stage), r.exact ? 'exact' : ''].join(':'))
    .join(',');
  return readFileSync(new URL('../functions/router.js', import.meta.url), 'utf8').replace("'__ROUTES__'", `'${routes}'`);
}

/** What the browser may load and connect to: this origin only. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export class CdnStack extends Stack {
  constructor(scope: Construct, project: Project, strategies: Strategy[]) {
    super(scope, resourceName(project, 'cdn'), {
      description: `${project.name} ${project.stage}: CloudFront, the web app bucket, one path per strategy`,
    });

    // Emptied by `make destroy` before the stack goes, so no custom resource is needed.
    const bucket = new s3.Bucket(this, 'WebApp', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledgeNag(bucket, [
      { id: 'AwsSolutions-S1', reason: 'Holds the built web app only, served through CloudFront; server access logs would cost more than the content.' },
    ]);
    acknowledgeCheckov(bucket, [
      { id: 'CKV_AWS_18', reason: 'Holds the built web app only; reads go through CloudFront.' },
      { id: 'CKV_AWS_21', reason: 'The content is rebuilt from git by make deploy-frontend; versions would only add cost.' },
      { id: 'CKV_AWS_145', reason: 'Public web assets: SSE-S3 encryption is enough, a KMS key would cost at rest.' },
    ]);

    const rules = strategies.flatMap((s) => routerRule(project, s.service) ?? []);
    const router = new cloudfront.Function(this, 'Router', {
      functionName: resourceName(project, 'router'),
      comment: 'PROTOCOL.md paths to origins; / to index.html',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(routerCode(project.stage, rules)),
    });

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: `${project.name} ${project.stage}: CSP, HSTS and friends`,
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: CONTENT_SECURITY_POLICY, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      },
    });

    const additionalBehaviors: Record<string, cloudfront.BehaviorOptions> = {};
    for (const strategy of strategies) {
      const behavior = strategy.cdnBehavior(this, project, router);
      for (const pattern of pathPatterns(project, strategy.service)) additionalBehaviors[pattern] = behavior;
    }

    const webAcl = ssm.StringParameter.valueForStringParameter(this, `${deployPath(project)}/waf/acl-arn`);
    const wafCondition = new CfnCondition(this, 'HasWaf', { expression: Fn.conditionNot(Fn.conditionEquals(webAcl, 'none')) });
    const distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `${project.name} ${project.stage}`,
      defaultRootObject: 'index.html',
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        functionAssociations: [{ function: router, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors,
      // The rate-limiting web ACL infra/waf.py made in us-east-1 with WAF=on, or none: its ARN
      // or `none` comes through SSM, since CloudFront's web ACLs live in us-east-1 and a stack
      // elsewhere cannot reference them.
      webAclId: Fn.conditionIf(wafCondition.logicalId, webAcl, Aws.NO_VALUE).toString(),
    });
    const reason = 'The web ACL is optional (WAF=on, see the README): it costs money at rest; API throttling and function concurrency caps bound abuse.';
    acknowledgeNag(distribution, [{ id: 'AwsSolutions-CFR2', reason }]);
    acknowledgeCheckov(distribution, [
      { id: 'CKV_AWS_68', reason },
      { id: 'CKV2_AWS_47', reason: 'The web ACL is optional (see CKV_AWS_68).' },
    ]);
    acknowledgeNag(distribution, [
      { id: 'AwsSolutions-CFR1', reason: 'A demo for every region: no geo restriction.' },
      { id: 'AwsSolutions-CFR3', reason: 'Standard logging needs an ACL-enabled bucket; the APIs and functions log every request.' },
      { id: 'AwsSolutions-CFR4', reason: 'The default *.cloudfront.net certificate cannot set the TLS minimum; set one with a custom domain.' },
    ]);
    acknowledgeCheckov(distribution, [
      { id: 'CKV_AWS_86', reason: 'Standard logging needs an ACL-enabled bucket; the APIs and functions log every request.' },
      { id: 'CKV_AWS_174', reason: 'The default *.cloudfront.net certificate cannot set the TLS minimum; set one with a custom domain.' },
      { id: 'CKV_AWS_310', reason: 'One origin per path; there is no second origin to fail over to.' },
      { id: 'CKV_AWS_374', reason: 'A demo for every region: no geo restriction.' },
      { id: 'CKV2_AWS_32', reason: 'The default behavior has the security headers policy; API paths answer JSON and event streams.' },
      { id: 'CKV2_AWS_42', reason: 'Uses the default *.cloudfront.net certificate until a custom domain is added.' },
    ]);

    const url = `https://${distribution.distributionDomainName}`;
    // The origins the services accept (CORS, WebSocket $connect): the app's own, and those
    // listed in ALLOWED_ORIGINS (e.g. the web dev server against this stage).
    new ssm.StringParameter(this, 'AllowedOrigins', {
      parameterName: `${configPath(project)}/allowed-origins`,
      stringValue: [url, ...project.allowedOrigins].join(','),
      description: `${project.name} ${project.stage}: the origins browsers may call the services from`,
    });
    publish(this, project, 'cdn/bucket', bucket.bucketName);
    publish(this, project, 'cdn/distribution-id', distribution.distributionId);
    publish(this, project, 'cdn/url', url);
    new CfnOutput(this, 'Url', { value: url, description: 'The app' });
  }
}
