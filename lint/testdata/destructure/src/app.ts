const { OPENAI_API_KEY } = import.meta.env;
const { STRIPE_SECRET_KEY: stripe } = process.env;
const { OPENAI_API_KEY: mine } = settings;
