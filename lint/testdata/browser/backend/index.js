export default [process.env.OPENAI_API_KEY, process.env.STRIPE_SECRET_KEY];
