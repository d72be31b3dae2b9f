const key = process.env.OPENAI_API_KEY;
const gh = process.env.GITHUB_TOKEN;
const db = process.env["DATABASE_PASSWORD"];
const sentry = process.env?.SENTRY_DSN;
const camel = process.env.webhookSecret;
const port = process.env.PORT;
const monkey = process.env.MONKEY;
