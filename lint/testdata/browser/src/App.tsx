const a = process.env.OPENAI_API_KEY;
const b = import.meta.env.VITE_STRIPE_SECRET_KEY;
const c = import.meta.env.STRIPE_SECRET_KEY;
const d = process.env.NEXT_PUBLIC_OPENAI_API_KEY;
const e = process.env["OPENAI_API_KEY"];
const f = `key: ${"STRIPE_SECRET_KEY"}`;
const OPENAI_API_KEY = "a local name is no reference";
// process.env.OPENAI_API_KEY in a comment is fine
