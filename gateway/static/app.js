// The buyer page: log in with client credentials, list the footprints shared with you,
// and show one product's computed footprint, stage shares, primary data share,
// attestations, contribution tree and the proof that each footprint is in the ledger.
"use strict";

const STAGES = [
  ["raw-material-acquisition", "Raw material acquisition and pre-processing"],
  ["main-production", "Main product production"],
  ["distribution", "Distribution"],
  ["end-of-life-recycling", "End of life and recycling"],
];
const STAGE_COLOUR = ["var(--s0)", "var(--s1)", "var(--s2)", "var(--s3)"];
const UNDISCLOSED_COLOUR = "#5b5f66";
const UNITS = {
  "kilowatt hour": "kWh", kilogram: "kg", liter: "L", "cubic meter": "m³", megajoule: "MJ",
  "ton kilometer": "t·km", "square meter": "m²", piece: "piece", hour: "h",
  "megabit second": "Mbit·s",
};
const LEDGER_EXTENSION = "urn:carbonledger:extension:ledger-record:1.0.0";

const POLICY_STORAGE = "carbonledger.tlogPolicy";

// policy: { text, parsed } of the user's C2SP tlog-policy, or null (kept in localStorage).
const state = { token: null, clientId: null, ledgerKey: null, policy: null, footprints: new Map() };

// -- small helpers -----------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  return fill(node, ...children);
}

// Replace a node's children, skipping null, undefined and false (the DOM's own
// replaceChildren would show them as the text "null").
function fill(node, ...children) {
  node.replaceChildren();
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const $ = (id) => document.getElementById(id);
const show = (id, visible) => { $(id).hidden = !visible; };
const unitOf = (unit) => UNITS[unit] || unit;
function num(value, digits = 2) {
  return Number(value).toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const pct = (fraction, digits = 1) => num(Number(fraction) * 100, digits) + " %";
// The gateway serves shares and relative differences as percentages (0 to 100).
const percent = (value, digits = 1) => num(value, digits) + " %";
const shortId = (id) => id.slice(0, 8) + "…";
const day = (iso) => (iso ? iso.slice(0, 10) : "open");

class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error_description)) || `HTTP ${status}`);
    this.status = status;
    this.code = body && (body.code || body.error);
  }
}

async function api(path, { text = false } = {}) {
  const answer = await fetch(path, {
    credentials: "omit",
    headers: { Authorization: `Bearer ${state.token}` },
  });
  if (!answer.ok) {
    const body = await answer.json().catch(() => null);
    if (answer.status === 401 || answer.status === 403) {
      logout(answer.status === 401 ? "Your session has expired; log in again." : null);
    }
    throw new ApiError(answer.status, body);
  }
  return text ? answer.text() : answer.json();
}

// -- login -------------------------------------------------------------------------------

async function login(clientId, secret) {
  const basic = btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`);
  // credentials "omit": a 401 with a Basic challenge must not open the browser's own
  // login prompt (Fetch standard, HTTP-network-or-cache fetch), it is shown in the page.
  const answer = await fetch("/auth/token", {
    method: "POST",
    credentials: "omit",
    headers: { Authorization: `Basic ${basic}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const why = answer.status === 401
      ? "the client id or secret is wrong"
      : body.error_description || `the token endpoint answered ${answer.status}`;
    throw new Error(`Login failed: ${why}.`);
  }
  return body.access_token;
}

function logout(message) {
  state.token = null;
  state.footprints.clear();
  $("product-list").tBodies[0].replaceChildren();
  $("product-body").replaceChildren();
  $("programme-list").tBodies[0].replaceChildren();
  for (const id of ["products", "product", "programme", "who", "logout", "error"]) show(id, false);
  show("login", true);
  const err = $("login-error");
  err.textContent = message || "";
  err.hidden = !message;
}

function onLoginSubmit(event) {
  event.preventDefault();
  const clientId = $("client-id").value.trim();
  const secret = $("client-secret").value;
  $("login-button").disabled = true;
  show("login-error", false);
  login(clientId, secret)
    .then((token) => {
      state.token = token;
      state.clientId = clientId;
      $("client-secret").value = "";
      show("login", false);
      $("who").textContent = `client ${shortId(clientId)}`;
      show("who", true);
      show("logout", true);
      route();
    })
    .catch((err) => logout(err.message))
    .finally(() => { $("login-button").disabled = false; });
}

// -- routing -----------------------------------------------------------------------------

function route() {
  if (!state.token) return logout(null);
  show("error", false);
  const match = /^#\/footprint\/([0-9a-fA-F-]{36})$/.exec(location.hash);
  show("programme", false);
  const view = location.hash === "#/programme"
    ? showProgramme()
    : match ? showProduct(match[1]) : showProducts();
  view.catch((err) => {
    if (!state.token) return;
    const box = $("error");
    box.textContent = `Could not load: ${err.message}`;
    box.hidden = false;
  });
}

// -- product list ------------------------------------------------------------------------

async function loadFootprints() {
  const found = [];
  let next = "/3/footprints?limit=100";
  for (let page = 0; next && page < 50; page++) {
    const answer = await fetch(next, {
      credentials: "omit",
      headers: { Authorization: `Bearer ${state.token}` },
    });
    if (!answer.ok) throw new ApiError(answer.status, await answer.json().catch(() => null));
    found.push(...(await answer.json()).data);
    const link = /<([^>]+)>;\s*rel="next"/.exec(answer.headers.get("Link") || "");
    next = link ? new URL(link[1]).pathname + new URL(link[1]).search : null;
  }
  for (const fp of found) state.footprints.set(fp.id, fp);
  return found;
}

const ledgerRecord = (fp) =>
  ((fp.extensions || []).find((e) => e.dataSchema === LEDGER_EXTENSION) || {}).data || {};
const productName = (fp) => fp.productNameCompany || fp.productDescription || fp.productIds[0];

async function showProducts() {
  show("product", false);
  show("products", true);
  $("products-status").textContent = "Loading…";
  const footprints = await loadFootprints();
  const rows = footprints.map((fp) => {
    const rec = ledgerRecord(fp);
    const status = fp.status === "Active" ? "ok" : "warn";
    return el("tr", { class: "product-row", "data-footprint-id": fp.id },
      el("td", {},
        el("a", { class: "product-link", href: `#/footprint/${fp.id}` }, productName(fp)),
        el("div", { class: "sub mono" }, fp.productIds.join(", "))),
      el("td", {}, fp.companyName),
      el("td", {}, `${num(fp.pcf.pcfExcludingBiogenicUptake)} kgCO2e/${unitOf(fp.pcf.declaredUnitOfMeasurement)}`),
      el("td", {}, el("span", { class: `badge ${status}` }, fp.status)),
      el("td", {}, rec.accessLevel || ""));
  });
  $("product-list").tBodies[0].replaceChildren(...rows);
  $("products-status").textContent = footprints.length
    ? `${footprints.length} footprint${footprints.length === 1 ? "" : "s"} shared with your organisation.`
    : "No footprints are shared with your organisation yet.";
}

// -- proofs ------------------------------------------------------------------------------

let checkpointPromise = null;

// The latest signed checkpoint, parsed, with its signature checked against the ledger key.
function latestCheckpoint() {
  if (!checkpointPromise) {
    checkpointPromise = (async () => {
      const note = await (await fetch("/v1/checkpoint")).text();
      const checkpoint = LedgerProof.parseNote(note);
      checkpoint.signature = state.ledgerKey
        ? await LedgerProof.verifyNoteSignature(checkpoint, state.ledgerKey).catch(() => "failed")
        : "no-key";
      checkpoint.witness = state.policy
        ? await WitnessPolicy.check(state.policy.parsed, note, state.ledgerKey ? [state.ledgerKey] : [])
          .catch((err) => ({ ok: false, reason: err.message }))
        : null;
      return checkpoint;
    })();
    checkpointPromise.catch(() => { checkpointPromise = null; });
  }
  return checkpointPromise;
}

// Canonical text of a JSON value (sorted members), to compare signed and served content.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",")}}`;
  }
  return JSON.stringify(value);
}

function asSigned(fp) {
  const copy = JSON.parse(JSON.stringify(fp));
  const rec = ledgerRecord(fp);
  copy.extensions = (copy.extensions || []).filter((e) => e.dataSchema !== LEDGER_EXTENSION);
  if (!copy.extensions.length) delete copy.extensions;
  if (rec.signedStatus) copy.status = rec.signedStatus;
  return copy;
}

// Verify that a served footprint is recorded in the ledger: recompute what can be
// recomputed, then check the RFC 9162 inclusion proof against the checkpoint root.
async function proveFootprint(fp) {
  const rec = ledgerRecord(fp);
  const checks = [];
  const result = { seq: rec.seq, size: null, ok: false, checks, reason: null };
  try {
    if (rec.seq === undefined || !rec.leafHash) throw new Error("the gateway did not say where it is recorded");
    const checkpoint = await latestCheckpoint();
    result.size = checkpoint.size;
    result.signature = checkpoint.signature;
    let leafHash = LedgerProof.hexToBytes(rec.leafHash);
    let proof;
    if (rec.accessLevel === "detail") {
      const entry = await api(`/v1/entries/${rec.seq}?treeSize=${checkpoint.size}`);
      const bytes = LedgerProof.b64ToBytes(entry.entry);
      const entryHash = LedgerProof.bytesToHex(await LedgerProof.sha256(bytes));
      if (entryHash !== entry.entryHash) throw new Error("the entry bytes do not hash to the recorded entry hash");
      checks.push("entry bytes hash to the recorded entry hash");
      const leaf = await LedgerProof.recordLeafHash(entry);
      if (LedgerProof.bytesToHex(leaf) !== rec.leafHash || entry.leafHash !== rec.leafHash) {
        throw new Error("the record's leaf hash does not match");
      }
      checks.push("leaf hash recomputed from the record (seq, time, chain, entry hash, key, signature)");
      const signed = JSON.parse(new TextDecoder().decode(bytes)).footprint;
      if (canonical(signed) !== canonical(asSigned(fp))) {
        throw new Error("the served footprint differs from the signed entry");
      }
      checks.push("served footprint equals the signed entry");
      leafHash = leaf;
      proof = entry.inclusion;
    } else {
      proof = await (await fetch(`/v1/proofs/inclusion?leafHash=${rec.leafHash}&treeSize=${checkpoint.size}`)).json();
      if (proof.leafIndex !== rec.seq) throw new Error("the proof is for another position in the log");
    }
    const ok = await LedgerProof.verifyInclusion(
      leafHash, rec.seq, checkpoint.size, proof.proof.map(LedgerProof.hexToBytes), checkpoint.root);
    if (!ok) throw new Error("the inclusion proof does not lead to the checkpoint root");
    checks.push(`inclusion proof (${proof.proof.length} hashes) recomputed to the checkpoint root`);
    if (checkpoint.signature === "verified") checks.push("checkpoint signature verified against the ledger key (Ed25519)");
    else if (checkpoint.signature === "failed") throw new Error("the checkpoint signature does not verify against the ledger key");
    else checks.push("checkpoint signature: this browser has no Ed25519 in WebCrypto; `carbonledger audit` checks it");
    const witness = checkpoint.witness;
    if (witness && witness.unsupported) {
      checks.push("witness cosignatures: this browser has no Ed25519 in WebCrypto; `carbonledger verify-entry --policy` checks them");
    } else if (witness && !witness.ok) {
      throw new Error(`the checkpoint does not satisfy the witness policy: ${witness.reason}`);
    } else if (witness) {
      checks.push(`witness quorum met (${witness.cosigners.join(", ") || "none needed"})`);
    }
    result.ok = true;
  } catch (err) {
    result.reason = err.message;
  }
  return result;
}

function proofView(result) {
  const where = `recorded at seq ${result.seq ?? "?"}`;
  const headline = result.ok
    ? `${where}, included in checkpoint of size ${result.size}, verified`
    : `${where}: NOT verified — ${result.reason}`;
  return el("div", { class: `proof ${result.ok ? "ok" : "bad"}`, "data-proof": result.ok ? "verified" : "failed" },
    el("div", { class: "headline proof-status" }, (result.ok ? "✔ " : "✘ ") + headline),
    result.checks.length ? el("ul", {}, result.checks.map((c) => el("li", {}, c))) : null);
}

// -- product view ------------------------------------------------------------------------

// A footprint the buyer's list holds (null if it is not shared): the tree and the
// attestations only name footprints, and one the list lacks is not fetched (it would 404).
const listed = (id) => state.footprints.get(id) || null;

async function footprintById(id) {
  if (!state.footprints.has(id)) {
    try {
      state.footprints.set(id, await api(`/3/footprints/${id}`).then((b) => b.data));
    } catch (err) {
      if (err.status !== 404) throw err;
      state.footprints.set(id, null); // not shared with this buyer
    }
  }
  return state.footprints.get(id);
}

// The computed footprint, or null with the reason to show instead: none (404), or the
// server's message when the footprint is in or depends on an impossible loop (422).
async function computedOf(id) {
  try {
    return { computed: await api(`/v1/footprints/${id}/computed`), problem: null };
  } catch (err) {
    if (err.status === 404) return { computed: null, problem: null };
    if (err.status === 422) return { computed: null, problem: err.message };
    throw err;
  }
}

function footprintIds(node, out = new Set()) {
  if (node.footprintId) out.add(node.footprintId);
  node.children.forEach((c) => footprintIds(c, out));
  return out;
}

async function showProduct(id) {
  show("products", false);
  show("product", true);
  const body = $("product-body");
  body.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  if (!state.footprints.size) await loadFootprints(); // opened by a link: names for the tree
  const fp = await footprintById(id);
  if (!fp) throw new Error("this footprint is not shared with you");
  const rec = ledgerRecord(fp);
  const [{ computed, problem }, tree] = await Promise.all([
    computedOf(id),
    rec.accessLevel === "detail"
      ? api(`/v1/footprints/${id}/contributions?depth=8&cutoff=0.5`).catch(() => null)
      : null,
  ]);
  const unit = unitOf(fp.pcf.declaredUnitOfMeasurement);
  const proofBox = el("div", { id: "proof" }, el("p", { class: "muted" }, "Verifying…"));
  const attestationBox = el("div", { id: "attestations" }, el("p", { class: "muted" }, "Loading…"));
  body.replaceChildren(
    el("h1", { id: "product-name" }, productName(fp)),
    el("p", { class: "sub" }, `${fp.companyName} · `, el("span", { class: "mono" }, fp.productIds.join(", ")),
      ` · footprint ${fp.id} · ${fp.status}`),
    computed
      ? figures(fp, computed, unit)
      : el("p", { class: "error" }, problem || "No computed footprint is available."),
    el("section", { class: "card" }, el("h2", {}, "Proof"), proofBox),
    el("section", { class: "card" }, el("h2", {}, "Attestations"), attestationBox),
    tree ? factorsView(tree) : null,
    treeSection(tree, unit, computed, problem));
  proveFootprint(fp).then((r) => proofBox.replaceChildren(proofView(r)));
  attestationsView(fp, computed, tree).then((v) => attestationBox.replaceChildren(v));
}

function figures(fp, c, unit) {
  const total = Number(c.total);
  const declared = c.declared === null ? null : Number(c.declared);
  const stageRows = STAGES.map(([key, name], i) => {
    const kg = Number(c.byStage[key] || 0);
    const share = total ? kg / total : 0; // an end-of-life credit is negative: no bar
    return [
      el("div", { class: "stage-name" }, name),
      el("div", { class: "bar" }, el("span", { style: `width:${(Math.max(0, share) * 100).toFixed(2)}%;background:${STAGE_COLOUR[i]}` })),
      el("div", { class: "share stage-share", "data-stage": key }, pct(share)),
      el("div", { class: "sub kg" }, `${num(kg, 3)} kgCO2e/${unit}`),
    ];
  });
  // Upstream suppliers beyond what is shared with this buyer: their contribution only.
  const hidden = Number(c.byStage.undisclosed || 0);
  if (hidden) {
    stageRows.push([
      el("div", { class: "stage-name" }, "Undisclosed upstream (not shared with you)"),
      el("div", { class: "bar" }, el("span", { style: `width:${((hidden / total) * 100).toFixed(2)}%;background:${UNDISCLOSED_COLOUR}` })),
      el("div", { class: "share undisclosed-share" }, pct(hidden / total)),
      el("div", { class: "sub kg" }, `${num(hidden, 3)} kgCO2e/${unit}`),
    ]);
  }
  const scopes = Object.entries(c.byScope).map(([s, v]) => `scope ${s}: ${num(v)}`).join(" · ");
  const pds = c.primaryDataShare === null ? null : Number(c.primaryDataShare);
  return el("div", {},
    el("div", { class: "grid" },
      el("section", { class: "card" },
        el("h2", {}, "Carbon footprint"),
        el("div", { class: "figure", id: "total" }, num(total), el("span", { class: "unit" }, `kgCO2e/${unit}`)),
        el("div", { class: "sub" }, `cradle to gate, per ${fp.pcf.declaredUnitAmount} ${fp.pcf.declaredUnitOfMeasurement}, computed from the supply chain`),
        el("div", { class: "sub", id: "total-method" }, `end of life: ${c.endOfLife.method === "cff" ? "Circular Footprint Formula" : "cut-off"} method (below)`),
        declared === null ? null : el("div", { class: "sub" },
          `declared by ${fp.companyName}: ${num(declared, 3)} kgCO2e/${unit} `,
          c.flagged
            ? el("span", { class: "badge bad" }, `differs by ${percent(c.relativeDifference)}`)
            : el("span", { class: "badge ok" }, "consistent"))),
      el("section", { class: "card" },
        el("h2", {}, "Primary data share"),
        el("div", { class: "figure", id: "primary-data-share" }, pds === null ? "n/a" : num(pds, 1), el("span", { class: "unit" }, "%")),
        el("div", { class: "sub" }, "share of the footprint from measured supplier data, through the chain"),
        el("div", { class: "sub" }, `data quality (DQR): ${Object.entries(c.dqr).map(([k, v]) => `${k} ${num(v, 1)}`).join(", ") || "n/a"}`)),
      el("section", { class: "card" },
        el("h2", {}, "By scope"),
        el("div", {}, scopes),
        el("div", { class: "sub" }, c.complete ? "complete: every input resolved" : `${c.gaps} unresolved inputs`))),
    el("section", { class: "card", id: "stages" },
      el("h2", {}, "Life cycle stages (EU Battery Regulation 2023/1542, Annex II)"),
      el("div", { class: "stages" }, stageRows.flat())),
    endOfLifeView(c.endOfLife));
}

// The PEF Circular Footprint Formula symbols, in the order the formula uses them.
const CFF_SYMBOLS = [
  ["A", "A"], ["B", "B"], ["R1", "R1"], ["R2", "R2"], ["R3", "R3"], ["QsinQp", "Qsin/Qp"],
  ["QsoutQp", "Qsout/Qp"], ["Erecycled", "Erecycled"], ["ErecyclingEoL", "ErecyclingEoL"],
  ["Ev", "Ev"], ["EvStar", "E*v"], ["ED", "ED"],
];

// The recycled-content and end-of-life method the supplier declared, with each CFF
// input line's parameters (detail access only).
function endOfLifeView(eol) {
  const cff = eol.method === "cff";
  const section = el("section", { class: "card", id: "end-of-life" },
    el("h2", {}, "Recycled content and end of life"),
    el("p", { id: "end-of-life-method" }, cff
      ? "Circular Footprint Formula (EU PEF method, Recommendation (EU) 2021/2279)"
      : "Cut-off: recycled content carries only its recycling burden"));
  if (!cff) return section;
  if (eol.inputs === null) {
    section.append(el("p", { class: "muted" }, "The parameters of each input need detail access."));
    return section;
  }
  const head = el("tr", {}, el("th", {}, "input"), ...CFF_SYMBOLS.map(([, label]) => el("th", {}, label)), el("th", {}, "energy recovery"));
  const rows = eol.inputs.map(({ line, cff: p }) => el("tr", {},
    el("td", {}, String(line)),
    ...CFF_SYMBOLS.map(([key]) => el("td", { class: "mono" }, p[key] === null ? "cited" : p[key])),
    el("td", { class: "mono" }, p.energyRecovery
      ? Object.entries(p.energyRecovery).map(([k, v]) => `${k} ${v}`).join(", ")
      : "none")));
  section.append(el("table", { class: "list cff" }, el("thead", {}, head), el("tbody", {}, rows)),
    el("p", { class: "sub" }, "emission values in kgCO2e per unit of the input; Ev \"cited\": the intensity of the cited footprint or factor"));
  return section;
}

async function attestationsView(fp, computed, tree) {
  const items = [];
  const own = computed ? computed.attestations : [];
  for (const a of own) items.push([a, fp]);
  if (tree) {
    const upstream = [...footprintIds(tree)].filter((x) => x !== fp.id);
    const found = await Promise.all(upstream.map(async (uid) => {
      const ufp = listed(uid);
      const uc = ufp ? await computedOf(uid).catch(() => null) : null;
      return uc && uc.computed ? uc.computed.attestations.map((a) => [a, ufp]) : [];
    }));
    items.push(...found.flat());
  }
  if (!items.length) return el("p", { class: "muted" }, "No third-party attestation is recorded for this footprint or the supplier footprints shared with you.");
  const now = new Date().toISOString();
  return el("div", {}, items.map(([a, subject]) => {
    const validity = a.validFrom && now < a.validFrom ? ["warn", "not yet valid"]
      : a.validUntil && a.validUntil <= now ? ["warn", "expired"] : ["ok", "valid"];
    return el("div", { class: "attestation" },
      el("div", {},
        el("strong", {}, a.standard || "attestation"), ` · ${a.assuranceLevel || "?"} assurance`,
        a.boundary ? ` · ${a.boundary}` : "", " ",
        el("span", { class: `badge ${validity[0]}` }, validity[1])),
      el("div", { class: "sub" },
        `${subject.id === fp.id ? "this footprint" : `supplier footprint: ${productName(subject)} (${subject.companyName})`}`,
        ` · verifier ${a.verifier} · valid ${day(a.validFrom)} to ${day(a.validUntil)} · recorded at seq ${a.seq}`));
  }));
}

function nodeLabel(node) {
  if (node.kind === "footprint") {
    const fp = listed(node.footprintId);
    return fp ? `${productName(fp)} — ${fp.companyName}` : `Supplier footprint ${shortId(node.footprintId)} (not shared)`;
  }
  if (node.kind === "undisclosed") return "Undisclosed upstream suppliers (not shared)";
  if (node.kind === "own") return `Own emissions: ${node.label.replace(/-/g, " ")}`;
  if (node.kind === "factor") {
    const f = node.factor;
    return f ? `Emission factor: ${f.key} (${f.setId} ${f.version})` : `Emission factor: ${node.label.replace(/^factor /, "")}`;
  }
  return node.kind === "other" ? "Other contributions (below cut-off)" : node.label;
}

function treeSection(tree, unit, computed, problem) {
  const section = el("section", { class: "card", id: "contributions" }, el("h2", {}, "Contribution tree"));
  if (problem) {
    section.append(el("p", { class: "muted" }, "There is no contribution tree without a computed footprint."));
    return section;
  }
  if (!tree) {
    section.append(el("p", { class: "muted" }, "The supplier shares this footprint at summary level: the contribution tree needs detail access."));
    return section;
  }
  const chart = el("div", { class: "chart", id: "chart" });
  const detail = el("div", { class: "detail", id: "node-detail" }, el("p", { class: "muted" }, "Click a node to see it; nodes with + expand."));
  const expand = el("button", { type: "button", id: "expand-all" }, "Expand all");
  const collapse = el("button", { type: "button", id: "collapse-all", class: "secondary" }, "Collapse all");
  section.append(
    el("p", { class: "legend" }, Object.entries(ContributionChart.KIND_COLOUR).map(([k, c]) =>
      el("span", {}, el("i", { style: `background:${c}` }), { footprint: "supplier footprint", own: "own emissions", factor: "emission factor", undisclosed: "undisclosed upstream", other: "other" }[k])),
    " ", expand, " ", collapse),
    el("div", { class: "chart-wrap" }, chart, detail));
  // Names for the footprints in the tree, then draw.
  const instance = new ContributionChart.Chart(chart, tree, {
    labelOf: nodeLabel,
    valueOf: (n) => `${num(n.kgCO2e)} kgCO2e/${unit} · ${percent(n.share)}`,
    onSelect: (n) => showNode(detail, n, unit),
  });
  expand.addEventListener("click", () => instance.expandAll());
  collapse.addEventListener("click", () => instance.collapseAll());
  chart.dataset.ready = "true";
  return section;
}

// What a factor's value counts: "kgCO2" for a CO2-only factor, "kgCO2e" otherwise.
const factorMass = (f) => (f.gasCoverage === "CO2" ? "kgCO2" : "kgCO2e");
const GAS_COVERAGE = {
  CO2: "CO2 only: the factor leaves out methane, nitrous oxide and the other greenhouse gases that the CO2e total otherwise counts",
  CO2e: "all greenhouse gases, as CO2 equivalents",
};
const gasCoverage = (f) => GAS_COVERAGE[f.gasCoverage] || "not stated by the factor set; see its method";

// The distinct emission factors the tree applies, each with what its publisher states.
function usedFactors(node, out = new Map()) {
  if (node.factor) out.set(node.label, node.factor);
  node.children.forEach((c) => usedFactors(c, out));
  return out;
}

function factorsView(tree) {
  const factors = [...usedFactors(tree).values()];
  if (!factors.length) return null;
  const rows = factors.map((f) => el("tr", { class: "factor-row" },
    el("td", {}, el("strong", {}, f.key), el("div", { class: "sub" }, `${f.setId} ${f.version} · ${f.publisher}`)),
    el("td", { class: "factor-value" }, `${f.value} ${factorMass(f)}/${unitOf(f.unit)}`),
    el("td", { class: "factor-gases" }, f.gasCoverage ? (f.gasCoverage === "CO2" ? "CO2 only" : "CO2e (all gases)") : "not stated"),
    el("td", {}, `${f.basis}, ${f.region}, ${f.year}`),
    el("td", { class: "sub" }, f.source)));
  const co2Only = factors.some((f) => f.gasCoverage === "CO2");
  return el("section", { class: "card", id: "factors-used" },
    el("h2", {}, "Emission factors used"),
    el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ["factor", "value", "gases", "basis, region, year", "source"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)),
    co2Only ? el("p", { class: "sub", id: "co2-only-note" },
      "A CO2-only factor counts carbon dioxide alone: its lines in the CO2e total leave out the other greenhouse gases of that activity.") : null);
}

const entry = (term, ...value) => [el("dt", {}, term), el("dd", {}, ...value)];

function nodeFacts(node, unit) {
  const fp = node.footprintId ? listed(node.footprintId) : null;
  const f = node.factor;
  return [
    entry("Contribution", `${num(node.kgCO2e, 3)} kgCO2e/${unit} (per ${unit} of the product)`),
    entry("Share of the total", percent(node.share, 2)),
    node.kind === "footprint" && node.unit
      ? entry(`Amount per ${unit} of the product`, `${num(node.amount, 4)} ${unitOf(node.unit)}`)
      : null,
    node.kind === "footprint" && node.unit && Number(node.amount)
      ? entry("Its footprint", `${num(Number(node.kgCO2e) / Number(node.amount), 3)} kgCO2e per ${node.unit}`)
      : null,
    node.footprintId ? entry("Footprint", el("span", { class: "mono" }, node.footprintId)) : null,
    fp ? entry("Supplier", fp.companyName) : null,
    fp ? entry("Declared unit", `${fp.pcf.declaredUnitAmount} ${fp.pcf.declaredUnitOfMeasurement}`) : null,
    f ? [
      entry("Factor value", el("span", { class: "factor-value" }, `${f.value} ${factorMass(f)} per ${f.unit}`)),
      entry("Gases", el("span", { class: "factor-gases" }, gasCoverage(f))),
      entry("Basis, region, year", `${f.basis}, ${f.region}, ${f.year}`),
      entry("Factor set", `${f.setId} ${f.version}, published by ${f.publisher}`),
      entry("Method", f.method),
      entry("Source", el("span", { class: "factor-source" }, f.source)),
    ] : null,
  ];
}

function showNode(detail, node, unit) {
  const fp = node.footprintId ? listed(node.footprintId) : null;
  const proof = el("div", {}, fp ? el("p", { class: "muted" }, "Verifying…") : null);
  fill(detail,
    el("h3", { id: "node-title" }, nodeLabel(node)),
    el("dl", {}, nodeFacts(node, unit)),
    node.footprintId && !fp ? el("p", { class: "sub" }, "This supplier footprint is not shared with you; its contribution is computed by the ledger.") : null,
    node.kind === "factor" && !node.factor ? el("p", { class: "sub" }, "The ledger holds no published factor set for this factor.") : null,
    node.kind === "own" ? el("p", { class: "sub" }, "Emissions the supplier declares for its own operations (primary data).") : null,
    node.kind === "undisclosed" ? el("p", { class: "sub" }, "Suppliers beyond what is shared with you: only the amount they contribute is shown.") : null,
    node.kind === "other" ? el("p", { class: "sub" }, "Smaller contributions (each below 0.5 % of the total, or beyond the ten largest of a node), added up.") : null,
    proof);
  if (fp) proveFootprint(fp).then((r) => proof.replaceChildren(proofView(r)));
}

// -- witness policy ----------------------------------------------------------------------

// Use `text` as the witness policy ("" for none) from now on, and keep it in this browser;
// throws WitnessPolicy.PolicyError (naming the line) for a policy that cannot be used.
async function setPolicy(text) {
  const parsed = text.trim() ? await WitnessPolicy.parse(text) : null;
  state.policy = parsed ? { text, parsed } : null;
  if (parsed) localStorage.setItem(POLICY_STORAGE, text);
  else localStorage.removeItem(POLICY_STORAGE);
  $("policy-text").value = parsed ? text : "";
  $("policy-summary").textContent = parsed
    ? `quorum ${parsed.quorum} of ${parsed.witnesses.size} witness${parsed.witnesses.size === 1 ? "" : "es"}` +
      (parsed.logs.length ? `, ${parsed.logs.length} log key${parsed.logs.length === 1 ? "" : "s"}` : "")
    : "none (cosignatures not checked)";
  checkpointPromise = null; // verify again, under the new policy
}

function onPolicyChange(text) {
  show("policy-error", false);
  setPolicy(text)
    .then(() => { if (state.token) route(); })
    .catch((err) => {
      $("policy-error").textContent = `This policy cannot be used: ${err.message}`;
      show("policy-error", true);
    });
}

// -- start -------------------------------------------------------------------------------

async function start() {
  $("login-form").addEventListener("submit", onLoginSubmit);
  $("logout").addEventListener("click", () => logout(null));
  window.addEventListener("hashchange", route);
  logout(null);
  try {
    const config = await (await fetch("/page/config")).json();
    state.ledgerKey = config.ledgerKey || null;
  } catch (_) {
    state.ledgerKey = null;
  }
  $("ledger-key").textContent = state.ledgerKey || "not configured";
  $("policy-save").addEventListener("click", () => onPolicyChange($("policy-text").value));
  $("policy-clear").addEventListener("click", () => onPolicyChange(""));
  await setPolicy(localStorage.getItem(POLICY_STORAGE) || "").catch(() => setPolicy(""));
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", start);
