// leadq reps page: find a lead's logged decisions, explain them in plain
// language, re-explain them against today's rules, and score a pasted lead.
// Plain JavaScript, no build step. Every value from the server is written
// with textContent, never as HTML: reasons quote the lead's own data.
"use strict";

const tokenKey = "leadq-token";

// fieldLabels holds the labels rule files give fields (GET /v1/rulesets),
// by ruleset name; a field without one is shown by its name.
const fieldLabels = {};
function fieldTitles(d, names) {
  const labels = fieldLabels[d.ruleset && d.ruleset.name] || {};
  return names.map(n => labels[n] || n).join(", ");
}
// labelsLoaded settles once the ruleset list (and so the labels) is in.
let labelsLoaded = Promise.resolve();

// api calls the server's JSON API. A 401 shows the token form.
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  const token = sessionStorage.getItem(tokenKey);
  if (token) headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body });
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (resp.status === 401) {
    showSettings();
    throw new Error("This server needs an API token: enter it above, then try again.");
  }
  if (!resp.ok) {
    const msg = data && data.message ? data.message : "the server answered " + resp.status;
    const err = new Error(msg);
    err.status = resp.status;
    err.body = data;
    throw err;
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function signed(n) { return (n > 0 ? "+" : n < 0 ? "\u2212" : "") + Math.abs(n); }

// utcTime is a time as the log keeps it, in UTC: 2026-11-23 09:00:00 UTC.
function utcTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC");
}

// localTime is a time in the reader's own time zone, with UTC on hover;
// short leaves out the year and the zone, for tables.
function localTime(iso, short) {
  const d = new Date(iso);
  if (isNaN(d)) return el("span", { text: iso });
  const text = d.toLocaleString(undefined, short ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" } :
    { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  return el("time", { datetime: d.toISOString(), title: utcTime(iso), text });
}

function shortVersion(v) { return v && v.length > 19 ? v.slice(0, 19) : v || ""; }

function setStatus(node, text, isError) {
  node.textContent = text;
  node.classList.toggle("error", !!isError);
}

function verdictBadge(qualified) {
  return el("span", { class: "badge " + (qualified ? "qualified" : "rejected"), text: qualified ? "Qualified" : "Not qualified" });
}

function hitList(hits, cls) {
  return el("ul", { class: cls }, ...hits.map(h => el("li", {},
    el("span", { class: "points " + (h.points >= 0 ? "plus" : "minus"), text: h.points ? signed(h.points) : "" }),
    el("span", {}, h.reason + " ", el("span", { class: "rule", text: "(" + h.rule + (h.group ? ", " + h.group : "") + ")" })))));
}

// renderDecision explains one decision. opts: {title, logged: record,
// account, accountSource}.
function renderDecision(d, opts) {
  opts = opts || {};
  const tpl = document.getElementById("decision-template").content.cloneNode(true);
  const article = tpl.querySelector("article");
  const h = article.querySelector(".verdict");
  h.append(verdictBadge(d.qualified), el("span", { text: "Tier " + d.tier + " \u00b7 score " + d.score }),
    el("span", { class: "rule", text: "lead " + (d.lead_id || "(no id)") }));
  const meta = [];
  if (opts.logged) meta.push(el("span", {}, "Decided ", localTime(opts.logged.time)));
  meta.push("ruleset " + d.ruleset.name + " " + shortVersion(d.ruleset.version));
  if (opts.logged && opts.logged.email) {
    // A log with --log-mask hash keeps a hash of the address and its domain.
    const m = /^[0-9a-f]{32}(@.*)?$/.exec(opts.logged.email);
    meta.push(m ? "email masked in the log" + (m[1] ? " (\u2026" + m[1] + ")" : "") : el("span", { class: "email", text: opts.logged.email }));
  }
  const metaNode = article.querySelector(".meta");
  meta.forEach((m, i) => { if (i) metaNode.append(" \u00b7 "); metaNode.append(m); });
  const parts = article.querySelector(".parts");

  if (opts.accountSource) {
    const name = opts.account && (opts.account.name || opts.account.domain);
    const text = {
      resolved: "Account found from the email domain" + (name ? ": " + name : "") + ".",
      request: "Account data came with the lead" + (name ? ": " + name : "") + ".",
      logged: "Account data as logged with the decision" + (name ? ": " + name : "") + ".",
      none: "No account data: none came with the lead and none matches its email domain."
    }[opts.accountSource];
    if (text) parts.append(el("p", { class: "callout", text }));
  }

  if (d.knockouts.length) {
    parts.append(el("h4", { text: "What rejected it" }),
      el("p", { class: "help", text: "A knockout rejects a lead whatever its score." }),
      hitList(d.knockouts.map(k => ({ ...k, points: 0 })), "knockouts"));
  }
  const pos = d.matched.filter(m => m.points > 0), neg = d.matched.filter(m => m.points < 0);
  if (pos.length) parts.append(el("h4", { text: "What counted for it" }), hitList(pos));
  if (neg.length) parts.append(el("h4", { text: "What counted against it" }), hitList(neg));
  const groups = Object.keys(d.groups || {}).sort();
  if (groups.length) {
    parts.append(el("p", { class: "help", text: "Group totals after caps: " + groups.map(g => g + " " + d.groups[g]).join(", ") + "." }));
  }

  const wq = d.would_qualify;
  if (!d.qualified && wq) {
    // What it would take, as the engine computed it: real points under
    // the caps, towards a tier that qualifies.
    parts.append(el("h4", { text: "What it would take to qualify" }));
    if (wq.knockouts && wq.knockouts.length) {
      parts.append(el("p", { class: "callout", text: "It cannot qualify while a knockout applies: " +
        (wq.knockouts.length === 1 ? "clear " + wq.knockouts[0] + " first." : "clear these " + wq.knockouts.length + " first: " + wq.knockouts.join(", ") + ".") }));
    } else {
      if (wq.tier) parts.append(el("p", { class: "callout", text: wq.points_needed + " more points would make it tier " + wq.tier + ", which qualifies." }));
      const missed = Object.fromEntries(d.missed.map(m => [m.rule, m]));
      const matched = Object.fromEntries(d.matched.map(m => [m.rule, m]));
      const ruleText = r => (missed[r] ? (missed[r].description || missed[r].when) : (matched[r] && matched[r].reason)) || r;
      const item = g => {
        const m = missed[g.rule] || {};
        return el("li", {},
          el("span", { class: "points plus", text: signed(g.adds) }),
          el("span", {}, (m.description || m.when || g.rule) + " ",
            el("span", { class: "rule", text: "(" + g.rule + (g.adds !== g.points ? ", " + g.points + " points, " + g.adds + " under the " + m.group + " cap" : "") + ")" }),
            el("span", { class: g.unknown ? "unknown" : "known", text: g.unknown ?
              " \u2014 unknown: ask the lead or enrich" + (m.missing_fields && m.missing_fields.length ? " (" + fieldTitles(d, m.missing_fields) + ")" : "") :
              " \u2014 known, and not true" })));
      };
      // A change of the lead's data: the field and the value to set, what
      // the lead has now (or that it is unknown), and the rules it makes
      // true and false, with the points it really adds after the ones
      // listed before it.
      const change = c => el("li", {},
        el("span", { class: "points plus", text: signed(c.adds) }),
        el("span", {},
          el("strong", { text: (c.label || fieldTitles(d, [c.field])) + ": " + c.text }), " ",
          el("span", { class: c.unknown ? "unknown" : "known", text: c.unknown ?
            "(unknown: ask the lead or enrich)" : "(now " + c.from + ")" }),
          c.adds === 0 ? el("span", { class: "help", text: " counts together with a change below" }) : null,
          el("span", { class: "makes", text: " \u2014 makes true: " + c.makes_true.map(ruleText).join("; ") +
            (c.makes_false && c.makes_false.length ? "; no longer: " + c.makes_false.map(ruleText).join("; ") : "") })));
      const changes = wq.changes || [];
      const made = new Set(changes.flatMap(c => c.makes_true).concat(wq.verify || []));
      // Each missed rule on its own: what it would really add (a rule
      // that would add nothing is not offered).
      const rules = d.missed.filter(m => m.adds > 0).map(m => ({ rule: m.rule, points: m.points, adds: m.adds, unknown: !!(m.missing_fields && m.missing_fields.length) }));
      if (changes.length) {
        parts.append(el("p", { class: "help", text: changes.length === 1 ? "This change alone would qualify it:" : "These " + changes.length + " changes together would qualify it (no fewer would):" }),
          el("ul", { class: "changes" }, ...changes.map(change)));
      } else {
        parts.append(el("p", { class: "callout", text: "No change of the lead's data that leadq tried would qualify it." }));
      }
      if (wq.verify && wq.verify.length) {
        parts.append(el("p", { class: "help", text: "To check by hand (no value leadq can derive from the rules makes them true):" }),
          el("ul", {}, ...rules.filter(g => wq.verify.includes(g.rule)).map(item)));
      }
      const others = rules.filter(g => !made.has(g.rule));
      if (others.length) {
        const top = 6;
        parts.append(el("p", { class: "help", text: "Other rules it missed, with the points each would really add:" }),
          el("ul", {}, ...others.slice(0, top).map(item)));
        if (others.length > top) {
          const rest = others.length - top;
          parts.append(el("details", { class: "more" },
            el("summary", { text: "Show " + rest + " more rule" + (rest === 1 ? "" : "s") + " that would add points" }),
            el("ul", {}, ...others.slice(top).map(item))));
        }
      }
    }
  } else if (!d.qualified) {
    // A decision logged before the engine said what it would take.
    parts.append(el("h4", { text: "What it would take to qualify" }));
    if (d.knockouts.length) {
      parts.append(el("p", { class: "callout", text: "It cannot qualify while a knockout applies: that has to change first." }));
    } else if (d.missed.length) {
      parts.append(el("ul", {}, ...d.missed.slice(0, 8).map(m => el("li", {},
        el("span", { class: "points plus", text: signed(m.points) }),
        el("span", {}, (m.description || m.when) + " ", el("span", { class: "rule", text: "(" + m.rule + ", before group caps)" }))))));
    }
  }
  if (d.missing_fields.length && !d.knockouts.length) {
    parts.append(el("div", { class: "missing" },
      el("h4", { text: "Missing data" }),
      el("p", { text: "These fields were unknown, so the rules that read them could not count. Ask the lead or enrich the record: " + fieldTitles(d, d.missing_fields) + "." })));
  }
  if (d.warnings.length) {
    parts.append(el("h4", { text: "Data that could not be used" }),
      el("ul", {}, ...d.warnings.map(w => el("li", { text: w.field + ": " + w.message }))));
  }
  if (d.errors.length) {
    parts.append(el("h4", { text: "Rules that failed to run (they did not count)" }),
      el("ul", {}, ...d.errors.map(x => el("li", { text: x.rule + ": " + x.message }))));
  }
  return article;
}

// ---- find ------------------------------------------------------------

const findStatus = () => document.getElementById("find-status");
const findResults = () => document.getElementById("find-results");

// leadOf names the lead a logged decision is about.
function leadOf(r) { return r.lead_id || r.email || "(no id)"; }

// find searches the log: the start of a lead id, email, email domain or
// company, in any case. The page's address follows (?q=), so that a search
// can be shared and the browser's Back goes to the previous one.
async function find(q, push) {
  const status = findStatus(), out = findResults();
  document.getElementById("q").value = q;
  if (push) {
    const url = new URL(location.href);
    url.searchParams.set("q", q);
    if (url.href !== location.href) history.pushState({ q }, "", url);
  }
  out.replaceChildren();
  setStatus(status, "Searching\u2026");
  let data;
  try {
    data = await api("GET", "/v1/decisions?q=" + encodeURIComponent(q) + "&limit=50");
  } catch (e) {
    setStatus(status, "Could not search: " + e.message, true);
    return;
  }
  const recs = data.decisions;
  if (!recs.length) {
    setStatus(status, "No decisions about " + q + " in the log. Search by the start of a lead id, email, email domain or company name.");
    return;
  }
  const leads = [];
  for (const r of recs) {
    const l = leads.find(x => x.name === leadOf(r));
    if (l) l.recs.push(r); else leads.push({ name: leadOf(r), recs: [r] });
  }
  if (leads.length === 1) {
    setStatus(status, recs.length === 1 ? "Found 1 decision about " + q + "." :
      "Found " + recs.length + " decisions about " + q + "; the latest is shown first.");
    showLead(leads[0].recs);
    return;
  }
  setStatus(status, "Found " + leads.length + " leads matching " + q + "; the latest decided first. Choose one.");
  out.append(el("div", { class: "leads" },
    el("h3", { text: "Leads matching " + q }),
    el("ul", { class: "lead-list" }, ...leads.map(l => {
      const r = l.recs[0], lead = (r.input && (r.input.lead || r.input)) || {};
      return el("li", {},
        el("button", { type: "button", class: "linklike", onclick: () => { find(l.name, true); }, text: l.name }),
        el("span", { class: "lead-facts" }, [lead.company, r.email].filter(x => x && x !== l.name).join(" \u00b7 ")),
        el("span", { class: "lead-verdict" }, verdictBadge(r.decision.qualified), " tier " + r.decision.tier + " \u00b7 ", localTime(r.time, true)));
    }))));
}

// showLead shows a lead's latest decision and the list of all of them.
function showLead(recs) {
  const out = findResults();
  showRecord(recs[0], false);
  if (recs.length > 1) {
    const rows = recs.map(r => el("tr", {},
      el("td", {}, localTime(r.time, true)),
      el("td", {}, verdictBadge(r.decision.qualified)),
      el("td", { text: r.decision.tier + " \u00b7 " + r.decision.score }),
      el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => showRecord(r, true),
        "aria-label": "Show the decision of " + utcTime(r.time), text: "Show" }))));
    out.append(el("div", { class: "history" },
      el("h3", { text: "All decisions about this lead" }),
      el("div", { class: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, ...["Decided", "Verdict", "Tier \u00b7 score", ""].map(t => el("th", { scope: "col", text: t })))),
        el("tbody", {}, ...rows)))));
  }
}

// showRecord shows one logged decision at the top of the results.
function showRecord(rec, focus) {
  const out = findResults();
  const old = out.querySelector(".decision");
  if (old) old.remove();
  const input = rec.input || {};
  const account = input.account && typeof input.account === "object" ? input.account : null;
  const article = renderDecision(rec.decision, { logged: rec, account,
    accountSource: account ? (input.account_source === "resolved" ? "resolved" : "request") : null });
  const today = el("div", { class: "today-slot" });
  article.append(el("div", { class: "actions row" },
    el("button", { type: "button", onclick: () => explainToday(rec, today), text: "Would it qualify today?" }),
    el("button", { type: "button", class: "secondary", onclick: () => editLead(rec.input, rec.decision.ruleset.name), text: "Edit and score this lead" })),
    today);
  out.prepend(article);
  selectRuleset(rec.decision.ruleset.name);
  if (focus) article.querySelector(".verdict").focus();
}

// selectRuleset makes "Score a lead now" score with the ruleset of the
// decision on screen, so that an edited lead is compared like with like.
function selectRuleset(name) {
  const sel = document.getElementById("ruleset");
  if ([...sel.options].some(o => o.value === name)) sel.value = name;
  else pendingRuleset = name; // the list is not loaded yet
}
let pendingRuleset = "";

async function explainToday(rec, slot) {
  slot.replaceChildren(el("p", { class: "status", role: "status", text: "Scoring against today's rules\u2026" }));
  let data;
  try {
    data = await api("GET", "/v1/decisions/" + rec.id + "/explain");
  } catch (e) {
    slot.replaceChildren(el("p", { class: "status error", role: "alert", text: "Could not re-explain: " + e.message }));
    return;
  }
  const c = data.changes, d = data.today;
  let sentence;
  if (c.qualified_then !== c.qualified_now) sentence = c.qualified_now ? "It would qualify today." : "It would no longer qualify today.";
  else sentence = c.qualified_now ? "It would still qualify today." : "It would still not qualify today.";
  const items = [];
  if (c.version_then !== c.version_now) items.push("The ruleset changed since then (" + shortVersion(c.version_then) + " \u2192 " + shortVersion(c.version_now) + ").");
  if (c.tier_then !== c.tier_now) items.push("Tier " + c.tier_then + " \u2192 " + c.tier_now + ".");
  if (c.score_then !== c.score_now) items.push("Score " + c.score_then + " \u2192 " + c.score_now + " (" + signed(c.score_now - c.score_then) + ").");
  for (const h of c.knockouts_removed) items.push("No longer rejected by " + h.rule + ".");
  for (const h of c.knockouts_added) items.push("Now rejected: " + h.reason + " (" + h.rule + ").");
  for (const h of c.matched_added) items.push("Now counts " + signed(h.points) + ": " + h.reason + " (" + h.rule + ").");
  for (const h of c.matched_removed) items.push("No longer counts " + signed(h.points) + ": " + h.reason + " (" + h.rule + ").");
  for (const p of c.repointed) items.push(p.rule + " counts " + signed(p.points_now) + ", was " + signed(p.points_then) + ".");
  const box = el("div", { class: "today", role: "region", "aria-label": "Today's decision" },
    el("h4", { tabindex: "-1" }, verdictBadge(d.qualified), " Today: tier " + d.tier + ", score " + d.score + ". " + sentence),
    c.changed || items.length ? el("ul", {}, ...items.map(t => el("li", { text: t }))) :
      el("p", { text: "Nothing changed for this lead." }),
    el("details", {}, el("summary", { text: "Today's full explanation" }),
      renderDecision(d, { account: data.account, accountSource: data.account_source })));
  slot.replaceChildren(box);
  box.querySelector("h4").focus();
}

// editLead copies a logged lead into the form, with the ruleset that
// decided it, for a what-if edit.
function editLead(input, ruleset) {
  const ta = document.getElementById("lead");
  const doc = Object.assign({}, input);
  if (doc.account_source === "resolved") delete doc.account; // resolve it again, as scoring would
  delete doc.account_source; // a mark of the log, not part of the lead
  ta.value = JSON.stringify(doc, null, 2);
  selectRuleset(ruleset);
  ta.focus();
  ta.scrollIntoView({ block: "center" });
}

// ---- score now ---------------------------------------------------------

async function tryLead(text, ruleset) {
  const status = document.getElementById("try-status"), out = document.getElementById("try-result");
  out.replaceChildren();
  try {
    JSON.parse(text);
  } catch (e) {
    setStatus(status, "That is not valid JSON: " + e.message, true);
    return;
  }
  setStatus(status, "Scoring\u2026");
  let data;
  try {
    data = await api("POST", "/v1/preview" + (ruleset ? "?ruleset=" + encodeURIComponent(ruleset) : ""), text);
  } catch (e) {
    let msg = "Could not score it: " + e.message;
    const details = e.body && e.body.errors ? e.body.errors.filter(x => x && x.field).map(x => x.field + ": " + x.message) : [];
    if (details.length) msg += " (" + details.join("; ") + ")";
    setStatus(status, msg, true);
    return;
  }
  const d = data.decision;
  setStatus(status, (d.qualified ? "Qualified" : "Not qualified") + ": tier " + d.tier + ", score " + d.score + ".");
  out.append(renderDecision(d, { account: data.account, accountSource: data.account_source }));
}

async function loadRulesets() {
  try {
    const data = await api("GET", "/v1/rulesets");
    const sel = document.getElementById("ruleset");
    const names = (data.rulesets || []).map(r => r.name);
    for (const r of data.rulesets || []) fieldLabels[r.name] = r.field_labels || {};
    // Named explicitly, so that what is scored is what the list shows; the
    // server's default (--default-ruleset) is chosen until a decision on
    // screen says otherwise.
    sel.replaceChildren(...names.map(n => el("option", { value: n, text: n + (n === data.default ? " (default)" : "") })));
    if (names.length > 1 && !data.default) sel.prepend(el("option", { value: "", text: "Choose a ruleset" }));
    sel.value = pendingRuleset && names.includes(pendingRuleset) ? pendingRuleset : (data.default || (names.length === 1 ? names[0] : ""));
  } catch (e) {
    // The token form is showing, or the server is not ready; scoring says why.
  }
}

function showSettings() {
  const s = document.getElementById("settings");
  if (s.hidden) {
    s.hidden = false;
    document.getElementById("token").focus();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("find-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const q = document.getElementById("q").value.trim();
    if (q) find(q, true);
  });
  document.getElementById("try-form").addEventListener("submit", ev => {
    ev.preventDefault();
    tryLead(document.getElementById("lead").value, document.getElementById("ruleset").value);
  });
  document.getElementById("token-form").addEventListener("submit", ev => {
    ev.preventDefault();
    sessionStorage.setItem(tokenKey, document.getElementById("token").value.trim());
    document.getElementById("settings").hidden = true;
    labelsLoaded = loadRulesets();
    document.getElementById("q").focus();
  });
  const fromURL = () => {
    const q = new URLSearchParams(location.search).get("q");
    document.getElementById("q").value = q || "";
    if (q) labelsLoaded.then(() => find(q, false)); else { findResults().replaceChildren(); setStatus(findStatus(), ""); }
  };
  window.addEventListener("popstate", fromURL);
  labelsLoaded = loadRulesets();
  fromURL();
});
