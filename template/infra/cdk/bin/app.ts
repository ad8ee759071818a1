// `cdk synth` / `cdk deploy` entry point (cdk.json). Stacks: <project>-<stage>-config,
// -realtime-ws, -stream-sse, -sync-api (those present) and -cdn.
import { buildApp, discoverStrategies } from '../lib/app.js';
import { loadProject } from '../lib/project.js';

const project = loadProject();
buildApp(project, await discoverStrategies(project)).synth();
