const key = process.env.OPENAI_API_KEY;
// COMMENTED_TOKEN was used once
