// smefin back-office console: a small vanilla-JS single page over the public /v1 API.
// Every value from the API is put into the page as text (never as HTML).
"use strict";

const KEY = "smefin.apiKey";
const main = () => document.getElementById("main");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function show(...nodes) {
  main().replaceChildren(...nodes);
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(KEY), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = resp.headers.get("content-type")?.includes("json") ? await resp.json() : null;
  if (!resp.ok) {
    const err = new Error((data && (data.detail || data.title)) || resp.statusText);
    err.status = resp.status;
    throw err;
  }
  return data;
}

function problem(err) {
  return el("p", { class: "error", role: "alert" }, `Error ${err.status || ""}: ${err.message}`);
}

const money = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " CNY");
const pct = (v) => (v === null || v === undefined ? "—" : (Number(v) * 100).toFixed(1) + "%");

// ---- sign in --------------------------------------------------------------------------------

function signInPage(message) {
  const input = el("input", { id: "api-key", type: "password", autocomplete: "off", required: true, size: 60 });
  const form = el(
    "form",
    { id: "sign-in", onsubmit: async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(KEY, input.value.trim());
      try {
        const me = await api("GET", "/v1/profile");
        sessionStorage.setItem("smefin.me", JSON.stringify(me));
        location.hash = "#/queue";
        route();
      } catch (err) {
        sessionStorage.removeItem(KEY);
        signInPage(err.status === 401 ? "That API key was not accepted." : err.message);
      }
    } },
    el("label", { for: "api-key" }, "API key of your lender or guarantor organisation"),
    input,
    el("button", { type: "submit", id: "sign-in-button" }, "Sign in"),
  );
  document.getElementById("nav").hidden = true;
  show(el("h1", {}, "Sign in"), message ? el("p", { class: "error", role: "alert" }, message) : null, form);
}

// ---- referral queue -------------------------------------------------------------------------

async function queuePage(params) {
  const status = params.get("status") || "referred";
  const guaranteed = params.get("guaranteed") || "any";
  const statusSel = el("select", { id: "filter-status" },
    ["referred", "approved", "declined", "disbursed", "repaid", "defaulted", "expired", "all"].map(
      (s) => el("option", { value: s, selected: s === status }, s)));
  const guarSel = el("select", { id: "filter-guaranteed" },
    [["any", "guaranteed or not"], ["yes", "guaranteed"], ["no", "not guaranteed"]].map(
      ([v, t]) => el("option", { value: v, selected: v === guaranteed }, t)));
  const apply = () => { location.hash = `#/queue?status=${statusSel.value}&guaranteed=${guarSel.value}`; };
  statusSel.addEventListener("change", apply);
  guarSel.addEventListener("change", apply);
  show(el("h1", {}, "Referral queue"), el("div", { class: "filters" }, "Status ", statusSel, " ", guarSel), el("p", {}, "Loading…"));
  try {
    const items = [];
    let cursor = null;
    do {
      const q = new URLSearchParams({ limit: "200" });
      if (status !== "all") q.set("status", status);
      if (cursor) q.set("cursor", cursor);
      const page = await api("GET", "/v1/referrals?" + q);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && items.length < 1000);
    const rows = items.filter((r) => guaranteed === "any" || (guaranteed === "yes") === Boolean(r.guarantor_org_id));
    const table = el("table", { id: "referrals" },
      el("thead", {}, el("tr", {}, ["Referral", "Firm", "Amount", "Term", "Guarantor", "Status", "Created"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((r) => el("tr", { "data-id": r.id },
        el("td", {}, el("a", { href: `#/referral/${r.id}` }, r.id)),
        el("td", {}, r.firm_ref),
        el("td", { class: "num" }, money(r.amount_cny)),
        el("td", { class: "num" }, `${r.term_months} m`),
        el("td", {}, r.guarantor_org_id || "—"),
        el("td", { class: `status status-${r.status}` }, r.status),
        el("td", {}, r.created_at.slice(0, 10)),
      ))));
    show(el("h1", {}, "Referral queue"), el("div", { class: "filters" }, "Status ", statusSel, " ", guarSel),
      rows.length ? table : el("p", { id: "empty" }, "No referral matches."));
  } catch (err) { handle(err); }
}

// ---- referral and firm page -----------------------------------------------------------------

function last24Months() {
  // The 24 complete months before this one: a month without sales is a zero bar, not a gap.
  const now = new Date();
  const out = [];
  for (let k = 24; k >= 1; k--) {
    out.push(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - k, 1)).toISOString().slice(0, 7));
  }
  return out;
}

function chart(months) {
  // 24 months of sales and refunds as an inline SVG bar chart (our own drawing, no library).
  const byMonth = {};
  months.forEach((m) => {
    const e = byMonth[m.month] || { sales: 0, refunds: 0 };
    e.sales += Number(m.sales);
    e.refunds += Number(m.refunds);
    byMonth[m.month] = e;
  });
  const data = last24Months().map((month) => ({
    month,
    sales: (byMonth[month] || { sales: 0 }).sales,
    refunds: (byMonth[month] || { refunds: 0 }).refunds,
  }));
  const W = 760, H = 240, pad = 40, bw = (W - pad * 2) / Math.max(data.length, 1);
  const max = Math.max(1, ...data.map((m) => Number(m.sales)), ...data.map((m) => Number(m.refunds)));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("id", "sales-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Monthly sales and refunds, last 24 months");
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  add("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, class: "axis" });
  add("text", { x: 4, y: pad - 10, class: "label" }, `max ${Math.round(max).toLocaleString("en")}`);
  data.forEach((m, i) => {
    const x = pad + i * bw;
    const hs = (Number(m.sales) / max) * (H - pad * 2);
    const hr = (Number(m.refunds) / max) * (H - pad * 2);
    const s = add("rect", { x: x + 1, y: H - pad - hs, width: bw * 0.55, height: hs, class: "bar-sales" });
    s.append(Object.assign(document.createElementNS(ns, "title"), { textContent: `${m.month} sales ${m.sales}` }));
    const r = add("rect", { x: x + 1 + bw * 0.55, y: H - pad - hr, width: bw * 0.35, height: hr, class: "bar-refunds" });
    r.append(Object.assign(document.createElementNS(ns, "title"), { textContent: `${m.month} refunds ${m.refunds}` }));
    if (i % 3 === 0) add("text", { x, y: H - pad + 16, class: "label" }, m.month);
  });
  add("rect", { x: W - 200, y: 6, width: 10, height: 10, class: "legend-sales" });
  add("text", { x: W - 185, y: 15, class: "label" }, "sales");
  add("rect", { x: W - 130, y: 6, width: 10, height: 10, class: "legend-refunds" });
  add("text", { x: W - 115, y: 15, class: "label" }, "refunds");
  return svg;
}

function dl(pairs) {
  return el("dl", {}, pairs.flatMap(([k, v, id]) => [el("dt", {}, k), el("dd", id ? { id } : {}, v)]));
}

async function referralPage(id) {
  show(el("p", {}, "Loading…"));
  try {
    const r = await api("GET", `/v1/referrals/${encodeURIComponent(id)}`);
    const [offer, firm, events] = await Promise.all([
      api("GET", `/v1/referrals/${encodeURIComponent(id)}/offer`).catch((e) => e),
      api("GET", `/v1/referrals/${encodeURIComponent(id)}/firm-data`).catch((e) => e),
      api("GET", `/v1/referrals/${encodeURIComponent(id)}/events`).catch(() => []),
    ]);
    const parts = [el("h1", {}, `Referral ${r.id}`),
      dl([["Firm", r.firm_ref], ["Platform", r.platform_org_id], ["Status", r.status, "referral-status"],
        ["Lender decision", r.lender_decision || "—"], ["Guarantor decision", r.guarantor_org_id ? r.guarantor_decision || "—" : "no guarantor"],
        ["Amount", money(r.amount_cny)], ["Term", `${r.term_months} months`], ["Loan", r.loan_id || "—"]])];
    if (r.status === "referred") parts.push(decisionForm(r));
    parts.push(el("h2", {}, "Offer terms and risk sharing"));
    if (offer instanceof Error) parts.push(problem(offer));
    else parts.push(dl([["Annual rate", pct(offer.annual_rate)], ["All-in annual cost", pct(offer.all_in_annual_cost)],
      ["Upfront fee", money(offer.upfront_fee_cny)], ["Monthly payment", money(offer.monthly_payment_cny)],
      ["PD (12 months)", pct(offer.pd_12m)], ["Guaranteed", money(offer.guaranteed_cny)], ["Guarantee fee", money(offer.guarantee_fee_cny)],
      ["Lender keeps of losses", pct(offer.lender_loss_share), "loss-share"], ["Others carry", pct(1 - Number(offer.lender_loss_share))],
      ["Agreement", offer.agreement_id || "—"]]));
    parts.push(el("h2", {}, "Firm"));
    if (firm instanceof Error) parts.push(problem(firm));
    else {
      const s = firm.snapshot.score || {};
      parts.push(dl([["Score", s.score, "firm-score"], ["Grade", s.grade, "firm-grade"], ["PD (12 months)", pct(s.pd_12m)],
        ["Industry", firm.snapshot.industry], ["Size", firm.snapshot.size_class], ["Months of history", firm.snapshot.months_of_history],
        ["Sales, last 12 months", money(firm.snapshot.sales_12m_cny)], ["Consent", firm.consent_id]]));
      parts.push(el("h3", {}, "Reason codes"), el("ul", { id: "reasons" }, (s.reasons || []).map((x) => el("li", {}, el("code", {}, x.code), " ", x.message_en))));
      parts.push(el("h3", {}, "Sales and refunds, 24 months"), chart(firm.metrics.months || []));
    }
    parts.push(el("h2", {}, "History"), el("ol", { id: "events" }, events.map((e) => el("li", {}, `${e.created_at.slice(0, 19)} ${e.kind}${e.payload && e.payload.note ? ` — ${e.payload.note}` : ""}`))));
    show(...parts);
  } catch (err) { handle(err); }
}

function decisionForm(r) {
  const note = el("input", { id: "decision-note", maxlength: 500, size: 50, placeholder: "reason (shown in the referral's history)" });
  const decide = (decision) => async () => {
    try {
      await api("POST", `/v1/referrals/${encodeURIComponent(r.id)}/decision`, { decision, note: note.value || null });
      referralPage(r.id);
    } catch (err) { main().prepend(problem(err)); }
  };
  return el("div", { class: "decision" },
    el("label", { for: "decision-note" }, "Reason "), note,
    el("button", { type: "button", id: "approve", onclick: decide("approve") }, "Approve"),
    el("button", { type: "button", id: "decline", onclick: decide("decline") }, "Decline"));
}

// ---- portfolio and early warnings -----------------------------------------------------------

function bar(share) {
  const v = share === null || share === undefined ? 0 : Math.min(Number(share), 1);
  return el("span", { class: "meter-wrap" },
    el("span", { class: "meter" + (v > 0.9 ? " high" : "") }, el("span", { "data-w": v })), ` ${pct(share)}`);
}

async function warningsTable(id) {
  const page = await api("GET", "/v1/early-warnings?limit=200");
  if (!page.items.length) return el("p", { id: `${id}-empty` }, "No early warning.");
  return el("table", { id },
    el("thead", {}, el("tr", {}, ["When", "Firm", "Rule", "Month", "Evidence"].map((h) => el("th", {}, h)))),
    el("tbody", {}, page.items.map((w) => el("tr", { class: "warning" },
      el("td", {}, w.created_at.slice(0, 19)), el("td", {}, w.firm_ref), el("td", { class: "rule" }, w.rule),
      el("td", {}, w.month), el("td", {}, el("code", {}, Object.entries(w.evidence).map(([k, v]) => `${k}=${v}`).join(", ")))))));
}

async function portfolioPage() {
  show(el("p", {}, "Loading…"));
  try {
    const p = await api("GET", "/v1/portfolio");
    const parts = [el("h1", {}, "Portfolio"),
      dl([["Total limit", money(p.limit_cny)], ["In use", money(p.used_cny), "used"], ["Share used", bar(p.limit_used)],
        ["Single firm limit", money(p.single_limit_cny)], ["Related group limit", money(p.group_limit_cny)]]),
      el("table", { id: "exposure" },
        el("thead", {}, el("tr", {}, ["Firm", "Exposure", "of single-firm limit", "Group exposure", "of group limit"].map((h) => el("th", {}, h)))),
        el("tbody", {}, p.firms.map((f) => el("tr", {}, el("td", {}, f.firm_ref), el("td", { class: "num" }, money(f.exposure_cny)),
          el("td", {}, bar(f.single_limit_used)), el("td", { class: "num" }, f.in_group ? money(f.group_exposure_cny) : "not in a group"),
          el("td", {}, f.in_group ? bar(f.group_limit_used) : "—"))))),
      el("h2", {}, "Early warnings"), await warningsTable("portfolio-warnings")];
    show(...parts);
    document.querySelectorAll(".meter > span").forEach((s) => { s.style.width = `${Number(s.dataset.w) * 100}%`; });
  } catch (err) { handle(err); }
}

async function warningsPage() {
  show(el("p", {}, "Loading…"));
  try { show(el("h1", {}, "Early warnings"), await warningsTable("warnings")); } catch (err) { handle(err); }
}

// ---- routing --------------------------------------------------------------------------------

function handle(err) {
  if (err.status === 401) { sessionStorage.removeItem(KEY); signInPage("Your session ended: sign in again."); return; }
  show(problem(err));
}

function route() {
  if (!sessionStorage.getItem(KEY)) { signInPage(); return; }
  const me = JSON.parse(sessionStorage.getItem("smefin.me") || "{}");
  document.getElementById("nav").hidden = false;
  document.getElementById("who").textContent = me.name ? `${me.name} (${me.org_id})` : "";
  const [path, query] = (location.hash.slice(1) || "/queue").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "referral" && parts[1]) referralPage(decodeURIComponent(parts[1]));
  else if (parts[0] === "portfolio") portfolioPage();
  else if (parts[0] === "warnings") warningsPage();
  else queuePage(params);
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("sign-out").addEventListener("click", () => {
    sessionStorage.clear();
    location.hash = "";
    signInPage("Signed out.");
  });
  route();
});
