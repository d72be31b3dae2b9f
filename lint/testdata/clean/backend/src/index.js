import express from "express";
import { openaiKey } from "./env.js";

const stripe = process.env.STRIPE_SECRET_KEY;
const port = Number(process.env.PORT ?? 3000);
const mode = process.env.NODE_ENV; // not a credential, not in the manifest

// dotenv is not needed: the environment is complete when we start.
const app = express();
app.get("/api/health", (req, res) => res.json({ ok: Boolean(openaiKey && stripe) }));
app.listen(port);
