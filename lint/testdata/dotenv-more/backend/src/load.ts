import type { DotenvConfigOutput } from 'dotenv';
export type { DotenvParseOutput } from "dotenv";
import 'dotenv-flow/config';
require('@dotenvx/dotenvx').config();
process.loadEnvFile();
const key = process.env.OPENAI_API_KEY;
const transport = "dotenv-flow";
