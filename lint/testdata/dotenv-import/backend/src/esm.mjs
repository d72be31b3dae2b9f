import 'dotenv/config';
import dotenv from "dotenv";
import { config } from 'dotenv';
const later = await import("dotenv");
export const key = process.env.OPENAI_API_KEY;
