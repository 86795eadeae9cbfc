// The README's screenshots, taken from a running `plcdiag demo` (scripts/screenshots.sh starts
// it and calls this at the right second of the demo's minute).
//
// Usage: node screenshots.mjs BASE_URL OUT_DIR SHOT...   (SHOT: see `shots` below)
// Environment: PLCDIAG_CHROMIUM (default /usr/bin/chromium). station-map-zh needs a CJK font
// such as Debian's fonts-noto-cjk.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launchChromium } from "./chromium.mjs";

const [base, out, ...names] = process.argv.slice(2);
if (!base || !out || names.length === 0) {
  console.error("usage: node screenshots.mjs BASE_URL OUT_DIR SHOT...");
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const browser = await launchChromium();

/** Opens `path` in a fresh context and waits until the live feed is connected. */
async function open(path, locale) {
  const context = await browser.newContext({
    locale,
    viewport: { width: 1280, height: 820 },
    deviceScaleFactor: 1,
    colorScheme: "light",
  });
  const page = await context.newPage();
  await page.goto(base + path, { waitUntil: "load" });
  await page
    .waitForSelector('#live-status[data-live="connected"]', { timeout: 10_000 })
    .catch(() => console.error(`${path}: the live feed did not connect; taking the shot anyway`));
  return page;
}

async function save(target, name, fullPage = false) {
  const path = join(out, `${name}.png`);
  await target.screenshot(fullPage ? { path, fullPage } : { path });
  console.log(`wrote ${path}`);
}

// What each shot shows; scripts/screenshots.sh asks for them at the demo second that shows it.
const shots = {
  overview: async () => save(await open("/", "en-US"), "overview"),
  // press-cpu between seconds 10 and 25: the failed I/O module and its diagnostic entries.
  "device-s7": async () => save(await open("/devices/press-cpu?window=1h", "en-US"), "device-s7", true),
  "station-map": async () => {
    const page = await open("/devices/assembly-plc?window=1h", "en-US");
    await save(page.locator("section.network").first(), "station-map");
  },
  alarms: async () => save(await open("/alarms", "en-US"), "alarms"),
  "station-map-zh": async () => {
    const page = await open("/devices/assembly-plc?window=1h", "zh-CN");
    await save(page.locator("section.network").first(), "station-map-zh");
  },
};

try {
  for (const name of names) {
    const take = shots[name];
    if (!take) throw new Error(`unknown shot ${name}: ${Object.keys(shots).join(", ")}`);
    await take();
  }
} finally {
  await browser.close();
}
