'use strict';

// The app in container/test.sh's Node.js image: it checks its environment
// at start-up, as the Fusebase guide shows, and reports what it got by name,
// never by value. With "serve" it stays up until SIGTERM.

const missing = ['API_TOKEN'].filter((k) => !process.env[k]);
if (missing.length > 0) {
  console.error(`backend: missing ${missing.join(', ')}`);
  process.exit(1);
}
if (Object.hasOwn(process.env, 'FUSEBASE_API_KEY')) {
  console.error('backend: FUSEBASE_API_KEY reached the backend');
  process.exit(1);
}
console.log(`backend: started with API_TOKEN as uid ${process.getuid()}`);
if (process.argv[2] === 'serve') {
  process.on('SIGTERM', () => {
    console.log('backend: SIGTERM');
    process.exit(0);
  });
  setInterval(() => {}, 1000);
}
