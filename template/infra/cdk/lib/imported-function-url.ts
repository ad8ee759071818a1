// A Function URL created by another stack, known here by the values it published in SSM, in
// the shape CloudFront's FunctionUrlOrigin needs.
import { Resource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface ImportedFunctionUrlProps {
  url: string;
  functionArn: string;
}

export class ImportedFunctionUrl extends Resource implements lambda.IFunctionUrl {
  readonly url: string;
  readonly functionArn: string;
  readonly authType = lambda.FunctionUrlAuthType.AWS_IAM;

  constructor(scope: Construct, id: string, props: ImportedFunctionUrlProps) {
    super(scope, id);
    this.url = props.url;
    this.functionArn = props.functionArn;
  }

  get urlRef() {
    return { functionArn: this.functionArn };
  }

  grantInvokeUrl(identity: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee: identity,
      actions: ['lambda:InvokeFunctionUrl'],
      resourceArns: [this.functionArn],
    });
  }
}
