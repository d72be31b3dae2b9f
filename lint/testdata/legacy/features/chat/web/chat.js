fetch("/api/chat", { headers: { "x-key": process.env.OPENAI_API_KEY } });
