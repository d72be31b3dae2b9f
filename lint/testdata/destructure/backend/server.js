const { OPENAI_API_KEY, GITHUB_TOKEN: gh } = process.env;
const {
  STRIPE_SECRET_KEY,
  port = 3000,
  WEBHOOK_SECRET = "none",
} = process.env;
const { SESSION_TOKEN } = config;
