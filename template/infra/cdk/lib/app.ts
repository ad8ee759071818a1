// The whole CDK app: config, one stack per strategy present, CDN. bin/app.ts synthesizes it;
// the tests build it the same way.
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CdnStack } from './cdn-stack.js';
import { ConfigStack } from './config-stack.js';
import { Project } from './project.js';
import { publish } from './publish.js';
import { Strategy } from './strategy.js';

const STRATEGIES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'strategies');

/**
 * The strategies of this project: one file per strategy under lib/strategies/, each for a
 * service the project declares. A service without its file (or the reverse) is an error that
 * says which folder to copy.
 */
export async function discoverStrategies(project: Project): Promise<Strategy[]> {
  const strategies: Strategy[] = [];
  for (const file of readdirSync(STRATEGIES_DIR).filter((f) => f.endsWith('.ts')).sort()) {
    const { strategy } = (await import(path.join(STRATEGIES_DIR, file))) as { strategy: Strategy };
    if (!(strategy.service in project.services)) {
      throw new Error(
        `infra/cdk/lib/strategies/${file} deploys services/${strategy.service}, which this project lacks: delete the file or copy the service folder`,
      );
    }
    strategies.push(strategy);
  }
  for (const service of Object.keys(project.services)) {
    if (!strategies.some((s) => s.service === service)) {
      throw new Error(
        `services/${service} has no infra/cdk/lib/strategies/${service}.ts: copy it from a project generated with that strategy`,
      );
    }
  }
  return strategies;
}

/** Every stack, tagged with project, stage and owner, checked by cdk-nag's AwsSolutions pack. */
export function buildApp(project: Project, strategies: Strategy[], props: AppProps = {}): App {
  const app = new App(props);
  new ConfigStack(app, project);
  for (const strategy of strategies) {
    // deploy-frontend lists a strategy in /config.json when its stack has published its path.
    const { strategy: key, route } = project.services[strategy.service];
    publish(strategy.createStack(app, project), project, `${key}/path`, route);
  }
  new CdnStack(app, project, strategies);
  Tags.of(app).add('project', project.name);
  Tags.of(app).add('stage', project.stage);
  // `Owner`, as the original sample tags its stacks.
  Tags.of(app).add('Owner', project.owner);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}
