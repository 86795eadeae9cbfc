// Debian's headless Chromium as the browser tests and the screenshot script start it.
import { chromium } from "playwright-core";

/** Launches PLCDIAG_CHROMIUM (default /usr/bin/chromium), kept off the network. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.PLCDIAG_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // Playwright gives every launch a new empty profile (its own --user-data-dir). Without the
    // background-networking flags Chromium keeps trying hosts this closed network refuses.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
