console.log(Boolean(process.env.OPENAI_API_KEY));
