require("dotenv").config();
const key = process.env.OPENAI_API_KEY;
