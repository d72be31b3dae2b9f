const k = "OPENAI_API_KEY";
