'use strict';

// The install script. It checks that this platform's binary is installed,
// runs, and is of this package's version; then it puts the binary in place
// of bin/secretexec, the JavaScript launcher npm linked as the secretexec
// command. After that `npx secretexec` and package.json scripts run the
// binary itself: the command it execs takes its process ID, with no
// Node.js process in between to hold signals or exit codes.
//
// Only under npm: other package managers may wrap bin files in scripts that
// start them with node, so there the launcher stays (it works, as a parent).

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { PlatformError, binaryPath, report } = require('./lib/platform.js');
const pkg = require('./package.json');

function main() {
  const bin = binaryPath();
  let out;
  try {
    out = execFileSync(bin, ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new PlatformError(`running ${bin} version: ${err.message}`);
  }
  if (!out.startsWith(`secretexec v${pkg.version} `)) {
    throw new PlatformError(
      `${bin} is ${out.trim()}; want v${pkg.version}, the version of the secretexec package`,
      'install secretexec again, so that npm installs the binary package of the same version',
    );
  }

  if (!/^npm\//.test(process.env.npm_config_user_agent || '')) {
    return;
  }
  const launcher = path.join(__dirname, 'bin', 'secretexec');
  const tmp = path.join(__dirname, 'bin', '.secretexec-binary');
  try {
    fs.rmSync(tmp, { force: true });
    try {
      fs.linkSync(bin, tmp); // no second copy of the binary on disk
    } catch {
      fs.copyFileSync(bin, tmp);
      fs.chmodSync(tmp, 0o755);
    }
    fs.renameSync(tmp, launcher);
  } catch {
    // The launcher stays, and works.
    fs.rmSync(tmp, { force: true });
  }
}

try {
  main();
} catch (err) {
  if (!(err instanceof PlatformError)) {
    throw err;
  }
  report(err);
  process.exit(1);
}
