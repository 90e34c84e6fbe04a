import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// Signs in with every mode through the running demo of scripts/run.sh (started by
// scripts/test.sh, or by hand: `PASSERELLE_DEMO_URL=… npx playwright test -c demo.config.ts`).
export default defineConfig({
  ...base,
  testDir: "./demo",
  use: { ...base.use, baseURL: process.env.PASSERELLE_DEMO_URL ?? "http://127.0.0.1:3000" },
});
