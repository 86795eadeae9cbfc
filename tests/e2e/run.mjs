// plcdiag's pages in a real browser (issue #6): Debian's headless Chromium driven by
// playwright-core, against a gateway that tests/browser.rs starts with simulators behind it.
//
// Protocol with the Rust test: this script prints `STEP <name>` on stdout when it needs the
// simulators changed and waits for a `GO` line on stdin (the Rust side has done it). The last
// line is `PASS`; any failure prints `FAIL <reason>`, screenshots every open page as
// FAIL-*.png and exits non-zero. Other stdout lines are log lines.
//
// Environment: PLCDIAG_BASE (the gateway's base URL), PLCDIAG_CHROMIUM (default
// /usr/bin/chromium), PLCDIAG_ARTIFACTS (folder for the screenshots).
//
// Every check reads the DOM contract of src/web/pages/mod.rs and src/web/pages/device.rs.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { launchChromium } from "./chromium.mjs";

const base = process.env.PLCDIAG_BASE;
const artifacts = process.env.PLCDIAG_ARTIFACTS || "e2e-artifacts";
if (!base) {
  console.log("FAIL PLCDIAG_BASE is not set (tests/browser.rs sets it)");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

/// How long one wait may take: a limit for a hung test, not a timing claim.
const LIMIT = 15_000;

const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Asks the Rust side to change the simulators and waits until it has. */
async function step(name) {
  console.log(`STEP ${name}`);
  const { value, done } = await stdin.next();
  if (done || value.trim() !== "GO") {
    throw new Error(`step ${name}: expected GO on stdin, got ${done ? "end of input" : value}`);
  }
}

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const pages = new Map(); // label -> page, for the failure screenshots
const pageErrors = [];

async function shot(page, name) {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot ${path}`);
}

/** A fresh browser context (own cookies) with one page; JavaScript errors fail the run. */
async function openPage(browser, label) {
  const context = await browser.newContext({
    locale: "en-US",
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(LIMIT);
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${label}: ${e.message}`));
  pages.set(label, page);
  return page;
}

/** Fills and submits the login form on the page that is showing it. */
async function logIn(page, user, password) {
  await page.waitForSelector('form input[name="username"]');
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.endsWith("/login")),
    page.click('form button[type="submit"]'),
  ]);
  const who = (await page.textContent("#current-user"))?.trim();
  check(who === user, `#current-user is ${user} after login (got ${who})`);
}

/** Marks the page's document, so that `waitLive` can tell that it was not reloaded since. */
async function markDocument(page) {
  await page.evaluate(() => {
    window.__plcdiagSameDocument = true;
  });
}

/** Waits for `css` to appear in the document marked before (the live feed changed the DOM). */
async function waitLive(page, css) {
  await page.waitForSelector(css, { state: "attached" });
  const same = await page.evaluate(() => window.__plcdiagSameDocument === true);
  check(same, `${css} appeared without a reload`);
}

async function count(page, css) {
  return page.locator(css).count();
}

async function scenarios(browser) {
  // ---- Overview, as the viewer: a device goes offline when its simulator stops. ----
  const viewer = await openPage(browser, "viewer");
  await viewer.goto(`${base}/`);
  check(new URL(viewer.url()).pathname === "/login", `/ sends a stranger to /login (at ${viewer.url()})`);
  await logIn(viewer, "vera", "vera-pw");
  check(new URL(viewer.url()).pathname === "/", "the login goes back to the overview");
  await viewer.waitForSelector('#live-status[data-live="connected"]');
  for (const d of ["boiler", "cpu", "plc"]) {
    await viewer.waitForSelector(`[data-device="${d}"][data-state="online"]`, { state: "attached" });
  }
  // Polling is not enough: the rows must have come from the live feed by now.
  await viewer.waitForSelector('#counts [data-count="online"] b:text-is("3")');
  await shot(viewer, "01-overview-online");

  await markDocument(viewer);
  await step("stop-modbus");
  await waitLive(viewer, '[data-device="boiler"][data-state="offline"]');
  await viewer.waitForSelector('#counts [data-count="offline"] b:text-is("1")');
  check(
    (await count(viewer, '[data-device="cpu"][data-state="online"]')) === 1,
    "the cpu stays online",
  );
  await shot(viewer, "02-overview-boiler-offline");
  console.log("ok overview: boiler went offline live");

  // ---- S7 device page: an injected diagnostic entry appears in the buffer. ----
  const entry = 'table#diag-buffer tr[data-event-id="0x3942"][data-entering="true"]';
  await viewer.goto(`${base}/devices/cpu`);
  await viewer.waitForSelector('#cpu-mode[data-mode="RUN"]');
  await viewer.waitForSelector("table#diag-buffer", { state: "attached" });
  check((await count(viewer, 'table#diag-buffer tr[data-event-id="0x3942"]')) === 0, "no module error yet");
  // The operator has picked a class in the filter but not applied it: live updates keep it.
  await viewer.selectOption("select#diag-class", "3");
  await markDocument(viewer);
  await step("inject-s7-event");
  await waitLive(viewer, entry);
  const text = await viewer.locator(entry).first().textContent();
  check(/Module error/.test(text), `the entry reads "Module error" (got ${text})`);
  const flashed = await viewer.locator(entry).first().evaluate((tr) => tr.classList.contains("flash"));
  check(flashed, "the new entry flashes");
  const picked = await viewer.inputValue("select#diag-class");
  check(picked === "3", `the class the operator picked is kept (got "${picked}")`);
  await shot(viewer, "03-device-cpu-diagnostic-entry");
  console.log("ok device page: diagnostic entry 0x3942 shown");

  // ---- MELSEC device page: the CC-Link station map shows the dropped station. ----
  const map = 'section.station-map[data-network="line 3"]';
  await viewer.goto(`${base}/devices/plc`);
  await viewer.waitForSelector(`${map} [data-station="5"][data-state="ok"]`, { state: "attached" });
  check((await count(viewer, `${map} [data-station="1"][data-state="ok"]`)) === 1, "station 1 ok");
  await markDocument(viewer);
  await step("drop-station");
  const down = `${map} [data-station="5"][data-state="down"]`;
  await waitLive(viewer, down);
  const title = await viewer.locator(down).first().getAttribute("title");
  check(/Cause:/.test(title ?? "") && /What to do:/.test(title ?? ""), `the station says why (title ${title})`);
  check((await count(viewer, `${map} [data-station="1"][data-state="ok"]`)) === 1, "station 1 still ok");
  // A tap on the station (tablets have no hover) opens its cause and remedy.
  await viewer.click(down);
  const detail = viewer.locator(`${down} .detail`);
  check(await detail.isVisible(), "clicking station 5 shows its details");
  check(/What to do:/.test((await detail.textContent()) ?? ""), "the details name the remedy");
  await shot(viewer, "04-device-plc-station-map");
  await viewer.goto(`${base}/`);
  await viewer.waitForSelector('[data-device="plc"][data-state="cclink_fault"]', { state: "attached" });
  console.log("ok station map: station 5 down");

  // ---- Alarms: the operator acknowledges; the viewer sees no buttons and is refused. ----
  await viewer.goto(`${base}/alarms`);
  await viewer.waitForSelector("#no-active-alarms");
  const operator = await openPage(browser, "operator");
  await operator.goto(`${base}/login`);
  await logIn(operator, "otto", "otto-pw");
  await operator.goto(`${base}/alarms`);
  await operator.waitForSelector("#no-active-alarms");
  await operator.waitForSelector('#live-status[data-live="connected"]');
  await viewer.waitForSelector('#live-status[data-live="connected"]');

  await markDocument(operator);
  await markDocument(viewer);
  await step("stop-cpu");
  const raised = '#active-alarms tr[data-alarm-id][data-state="unacknowledged"][data-priority="critical"]';
  await waitLive(operator, raised);
  await waitLive(viewer, raised);
  const id = await viewer.locator(raised).first().getAttribute("data-alarm-id");
  const row = `#active-alarms tr[data-alarm-id="${id}"]`;
  const message = await viewer.locator(`${row} td.msg`).textContent();
  check(/cpu is in STOP/.test(message), `the rule's message names the device (got ${message})`);

  check((await count(viewer, "button[data-action]")) === 0, "the viewer has no alarm buttons");
  const refused = await viewer.evaluate(async (alarm) => {
    const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
    const base = document.querySelector('meta[name="plcdiag-base"]')?.content ?? "";
    const r = await fetch(`${base}/api/alarms/${encodeURIComponent(alarm)}/ack`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ note: "viewer tries" }),
    });
    return { status: r.status, csrf: csrf.length };
  }, id);
  check(refused.csrf > 0, "the viewer's page carries its session's CSRF token");
  check(refused.status === 403, `the viewer's ack is refused with 403 (got ${refused.status})`);
  await viewer.reload();
  check((await count(viewer, `${row}[data-state="unacknowledged"]`)) === 1, "still unacknowledged after the viewer's try");
  await shot(viewer, "05-alarms-viewer-no-actions");

  await operator.waitForSelector(`${row} button[data-action="ack"]`);
  await operator.fill(`${row} input[name="note"]`, "key switch checked");
  // A new alarm arrives while the note is being typed: its row appears live, the note stays
  // in its own row.
  await markDocument(operator);
  await step("drop-station-1");
  const second = `#active-alarms tr[data-alarm-id]:not([data-alarm-id="${id}"])`;
  await waitLive(operator, second);
  const typed = await operator.inputValue(`${row} input[name="note"]`);
  check(typed === "key switch checked", `the note being typed survives a live refresh (got "${typed}")`);
  const otherNote = await operator.inputValue(`${second} input[name="note"]`);
  check(otherNote === "", `the new alarm's row has an empty note (got "${otherNote}")`);
  await operator.click(`${row} button[data-action="ack"]`);
  await operator.waitForSelector(`${row}[data-state="acknowledged"]`, { state: "attached" });
  check((await count(operator, `${row} button[data-action="ack"]`)) === 0, "no ack button once acknowledged");
  const acked = await operator.locator(row).textContent();
  check(/otto/.test(acked) && /key switch checked/.test(acked), `acknowledged by otto with the note (row: ${acked})`);
  await operator.waitForSelector(`#journal tr[data-alarm="${id}"][data-transition="acknowledged"]`, { state: "attached" });
  await shot(operator, "06-alarms-operator-acknowledged");
  await viewer.reload();
  await viewer.waitForSelector(`${row}[data-state="acknowledged"]`, { state: "attached" });
  console.log("ok alarms: operator acknowledged, viewer refused");

  check(pageErrors.length === 0, `no JavaScript errors on the pages: ${pageErrors.join("; ")}`);
}

const browser = await launchChromium();
let failed = false;
try {
  await scenarios(browser);
  console.log("PASS");
} catch (e) {
  failed = true;
  console.log(`FAIL ${String(e?.stack ?? e).replaceAll("\n", "\n  ")}`);
  for (const [label, page] of pages) {
    try {
      console.log(`  ${label} was at ${page.url()}`);
      await shot(page, `FAIL-${label}`);
    } catch {
      // the page may be gone
    }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
