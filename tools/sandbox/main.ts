/**
 * @module `npm run sandbox`: starts the sandbox, prints its description as one JSON line on stdout,
 * and runs until Ctrl-C.
 */
import { startSandbox, stopOnSignals } from './index.js';

// stdout carries exactly one line, the description: anything a library logs goes to stderr.
console.log = console.info = console.debug = console.error;

const port = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);

const sandbox = await startSandbox({
  idpPort: port('SANDBOX_IDP_PORT'),
  cognitoPort: port('SANDBOX_COGNITO_PORT'),
  awsPort: port('SANDBOX_AWS_PORT'),
  controlPort: port('SANDBOX_CONTROL_PORT'),
});
process.stdout.write(`${JSON.stringify(sandbox.description)}\n`);
process.stderr.write(
  `sandbox ready: IdP ${sandbox.description.issuer}, Cognito-like pool ${sandbox.description.cognito.issuer}, AWS ${sandbox.description.awsEndpoint}, control ${sandbox.description.control} (Ctrl-C stops)\n`,
);

stopOnSignals(sandbox);
