'use strict';

// A fake Fusebase secrets API over HTTPS, for container/test.sh. It serves
// GET /v1/orgs/ORG/apps/PARENT/features/APP/secrets as Fusebase does, to
// "Authorization: Bearer KEY" only, with the certificate and key given (its
// own CA signs them), on 127.0.0.1 at a port of the system's choosing.
//
//	node fakeapi.js CERT KEY SECRETS.json PORTFILE LOGFILE
//
// SECRETS.json maps each APP to its {"KEY": "value"} secrets; the API key
// is in FAKEAPI_KEY. The port goes to PORTFILE once it listens; each
// request appends "METHOD PATH auth=ok|bad" to LOGFILE.

const fs = require('node:fs');
const https = require('node:https');

const [cert, key, secretsFile, portFile, logFile] = process.argv.slice(2);
const secrets = JSON.parse(fs.readFileSync(secretsFile, 'utf8'));
const apiKey = process.env.FAKEAPI_KEY;

const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  const auth = req.headers.authorization === `Bearer ${apiKey}` ? 'ok' : 'bad';
  fs.appendFileSync(logFile, `${req.method} ${req.url} auth=${auth}\n`);
  const reply = (status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (auth !== 'ok') {
    return reply(401, { message: 'unauthorized' });
  }
  const m = /^\/v1\/orgs\/[^/]+\/apps\/[^/]+\/features\/([^/]+)\/secrets$/.exec(req.url);
  if (req.method !== 'GET' || !m || !(m[1] in secrets)) {
    return reply(404, { message: 'not found' });
  }
  reply(200, {
    secrets: Object.entries(secrets[m[1]]).map(([k, value]) => ({ key: k, value, description: '' })),
  });
});

server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile, `${server.address().port}\n`);
});
