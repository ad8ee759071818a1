// Every finding a checker reports and we accept is acknowledged here, next to the resource,
// with the reason: cdk-nag through CDK's Validations API, checkov through the resource's
// `checkov.skip` metadata (which it reads from the synthesized template).
import { CfnResource, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A rule id and why it does not apply. */
export interface Finding {
  id: string;
  reason: string;
}

/** Acknowledges cdk-nag rules on `construct` (and everything under it). */
export function acknowledgeNag(construct: IConstruct, findings: Finding[]): void {
  for (const { id, reason } of findings) Validations.of(construct).acknowledge({ id, reason });
}

/** Skips checkov checks on the CloudFormation resource of `construct`, with the reasons. */
export function acknowledgeCheckov(construct: IConstruct, findings: Finding[]): void {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(`${construct.node.path} has no CloudFormation resource to annotate`);
  }
  const existing = (resource.getMetadata('checkov') as { skip?: object[] } | undefined)?.skip ?? [];
  resource.addMetadata('checkov', {
    skip: [...existing, ...findings.map(({ id, reason }) => ({ id, comment: reason }))],
  });
}
