export const key = process.env.OPENAI_API_KEY;
