// A minimal app backend that reads its secrets from the environment and
// validates them at start-up, failing fast with the name of the missing key,
// as the Fusebase "App Secrets" guide shows. Run it through secretexec:
//
//   secretexec --from file:examples/secrets.json \
//     --manifest examples/secrets.manifest -- node examples/backend/server.js
//
// With --once it exits right after it starts listening (for tests).
'use strict';

const http = require('node:http');

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`Missing required secret: ${name}`);
  }
  return value;
}

const config = {
  openaiApiKey: requireEnv('OPENAI_API_KEY'),
  stripeSecretKey: requireEnv('STRIPE_SECRET_KEY'),
  sentryDsn: process.env.SENTRY_DSN || null, // optional
};

// The store credential must never reach the backend.
if (Object.hasOwn(process.env, 'FUSEBASE_API_KEY')) {
  throw new Error('FUSEBASE_API_KEY leaked into the backend environment');
}

const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, sentry: config.sentryDsn !== null }));
});

const port = Number(process.env.PORT || 3000);
server.listen(port, '127.0.0.1', () => {
  // Name the keys, never their values.
  console.log(`backend: listening on 127.0.0.1:${server.address().port} ` +
    `with OPENAI_API_KEY, STRIPE_SECRET_KEY${config.sentryDsn ? ', SENTRY_DSN' : ''} (pid ${process.pid})`);
  if (process.argv.includes('--once')) {
    server.close();
  }
});

// As PID 1 Node.js gets no default SIGTERM handler: close and exit.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
